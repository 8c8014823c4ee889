"""The dashboard's threshold section: thresholds in force, their history, the rate against the target."""

from __future__ import annotations

from datetime import timedelta

from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from risk.calibration import calibration_apply, clear_site_thresholds_cache
from risk.dashboard import chart_target_rate, chart_thresholds, threshold_data
from risk.models import ChallengeThreshold, LoginEvent
from tests.helpers import CacheClearingTestCase, force_login_verified, make_user
from tests.risk.test_admin_and_controls import event

NOW = timezone.now()


def run_row(days_ago: float, band_min: int, challenge: float, *, calibrated: bool = True) -> ChallengeThreshold:
    return ChallengeThreshold.objects.create(
        computed_at=NOW - timedelta(days=days_ago),
        band_min=band_min,
        band_max={1: 2, 3: 9, 10: 49}.get(band_min),
        challenge=challenge,
        calibrated=calibrated,
        fixed_default=-1.3,
        target_rate=0.03,
        expected_rate=0.029 if calibrated else None,
        sign_ins=800 if calibrated else 12,
        floored=4,
        window_days=30,
        limited_by="step" if challenge == -0.3 else "",
    )


@override_settings(RISK_CALIBRATION={"MIN_SIGN_INS": 5})
class ThresholdDashboardTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        clear_site_thresholds_cache()
        self.addCleanup(clear_site_thresholds_cache)
        self.staff = make_user("admin@example.com", is_staff=True, is_superuser=True)
        force_login_verified(self.client, self.staff)
        self.user = make_user()

    def completed(self, n: int, challenged: int, *, earlier: int = 20, days_ago: float = 0) -> None:
        at = timezone.now() - timedelta(days=days_ago)
        for i in range(n):
            event(
                self.user,
                created_at=at,
                decision="challenge" if i < challenged else "allow",
                score=0.0,
                reasons=[],
                outcome=LoginEvent.Outcome.SUCCESS,
                earlier_sign_ins=earlier,
            )

    def test_data_has_thresholds_in_force_history_and_rates(self):
        run_row(3, 10, -0.3)
        run_row(1, 10, -0.8)
        run_row(1, 50, -1.3, calibrated=False)
        self.completed(10, 1)  # 10% of the 10-49 band today
        self.completed(5, 0, earlier=60, days_ago=2)
        # Not what the calibration aims at: a refused attempt, a pending one, a first sign-in.
        event(self.user, decision="deny", score=12.0, outcome=LoginEvent.Outcome.DENIED, earlier_sign_ins=20)
        event(self.user, decision="challenge", score=2.0, outcome=LoginEvent.Outcome.PENDING, earlier_sign_ins=20)
        event(self.user, decision="challenge", score=2.0, outcome=LoginEvent.Outcome.SUCCESS, earlier_sign_ins=0)
        data = threshold_data(days=30)
        by_band = {b["label"]: b for b in data.in_force}
        self.assertEqual(by_band["10-49"]["challenge"], -0.8)
        self.assertTrue(by_band["10-49"]["calibrated"])
        self.assertEqual(by_band["50+"]["challenge"], -1.3)
        self.assertFalse(by_band["50+"]["calibrated"])
        self.assertIsNone(by_band["1-2"]["computed_at"])
        self.assertEqual(len(data.history), 3)
        self.assertEqual(dict((label, (n, c)) for label, n, c in data.band_rates)["10-49"], (10, 1))
        self.assertEqual(dict((label, (n, c)) for label, n, c in data.band_rates)["50+"], (5, 0))
        self.assertAlmostEqual(data.rate(timezone.localdate()), 0.1)
        svg = chart_thresholds(data)
        self.assertIn("2 calibration runs in this period", svg)
        self.assertEqual(svg.count("<polyline"), 1)  # the 10-49 band has two runs
        self.assertIn('stroke-dasharray="4 3"', svg)  # the fixed default
        target = chart_target_rate(data)
        self.assertIn("1 of 15 completed sign-ins", target)
        self.assertIn("target 3.0%", target)

    def test_page_shows_thresholds_beside_the_fixed_default(self):
        self.completed(10, 1)
        calibration_apply()
        response = self.client.get(reverse("admin:risk_dashboard"))
        self.assertContains(response, "Challenge thresholds (self-calibrating)")
        self.assertContains(response, "Thresholds in force")
        self.assertContains(response, "Threshold history")
        self.assertContains(response, "chart-thresholds-t")
        self.assertContains(response, "chart-target-t")
        self.assertContains(response, "<td>calibrated</td>", count=1)  # only 10-49 had enough sign-ins
        self.assertContains(response, "<td>fixed default</td>", count=3)
        self.assertContains(response, "3.00%")

    def test_page_without_any_run(self):
        response = self.client.get(reverse("admin:risk_dashboard"))
        self.assertContains(response, "No calibration run in this period")
        self.assertContains(response, "No completed sign-ins of users with history in this period.")
        self.assertContains(response, "<td>never</td>", count=4)
