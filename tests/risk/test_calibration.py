"""Self-calibration on the site: risk_calibrate --apply over stored login events (risk/calibration.py)."""

import io
from datetime import timedelta
from unittest import mock

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import DatabaseError
from django.test import override_settings

from authsite.core import clock
from risk.calibration import calibration_apply, clear_site_thresholds_cache, site_thresholds
from risk.decision import Decision
from risk.models import ChallengeThreshold, LoginEvent
from risk.services import login_assess, login_succeeded
from tests.base import TestCase

from .factories import T0, ctx

CALIBRATION = {"MIN_SIGN_INS": 100, "WINDOW_DAYS": 30, "MAX_STEP": 10.0, "FLOOR": -4.0, "CEILING": 4.0}


@override_settings(
    RISK_CALIBRATION=CALIBRATION,
    RISK_TARGET_CHALLENGE_RATE=0.03,
    RISK_THRESHOLDS={"CHALLENGE": -1.3, "CHALLENGE_STRONG": 4.5, "DENY": 9.0},
)
class CalibrationApplyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.user = get_user_model().objects.create_user(email="cal@example.com", password="x" * 12)

    def setUp(self):
        clear_site_thresholds_cache()
        self.addCleanup(clear_site_thresholds_cache)
        cache.clear()

    def events(self, scores, *, earlier=20, **fields):
        LoginEvent.objects.bulk_create(
            [
                LoginEvent(
                    user=self.user,
                    created_at=clock.now() - timedelta(minutes=10 + i),
                    ip="192.0.2.10",
                    mode="adaptive",
                    decision="allow" if s < -1.3 else "challenge",
                    outcome=fields.get("outcome", LoginEvent.Outcome.SUCCESS),
                    score=s,
                    earlier_sign_ins=earlier,
                    reasons=fields.get("reasons", []),
                )
                for i, s in enumerate(scores)
            ]
        )

    def test_known_answer_stored_with_date_and_rate(self):
        scores = [-3.0 + k / 200 for k in range(1000)]  # 3% of them at or above 1.85
        self.events(scores)
        results = calibration_apply()
        band = results[2]  # 10-49 earlier sign-ins
        self.assertTrue(band.calibrated)
        self.assertAlmostEqual(band.challenge, 1.85, delta=0.05)
        self.assertFalse(results[0].calibrated)
        rows = {r.band_min: r for r in ChallengeThreshold.objects.all()}
        self.assertEqual(sorted(rows), [1, 3, 10, 50])
        row = rows[10]
        self.assertEqual((row.band_max, row.sign_ins, row.target_rate, row.calibrated), (49, 1000, 0.03, True))
        self.assertAlmostEqual(row.challenge, band.challenge)
        self.assertEqual(row.fixed_default, -1.3)
        self.assertLessEqual(row.expected_rate, 0.03)
        self.assertIsNotNone(row.computed_at)
        self.assertFalse(rows[50].calibrated)
        self.assertEqual(rows[50].challenge, -1.3)
        self.assertEqual(site_thresholds().for_history(20)["CHALLENGE"], band.challenge)
        self.assertEqual(site_thresholds().for_history(60)["CHALLENGE"], -1.3)

    def test_only_completed_sign_ins_count(self):
        scores = [-3.0 + k / 200 for k in range(1000)]
        self.events(scores)
        expected = calibration_apply()[2].challenge
        ChallengeThreshold.objects.all().delete()
        # Refused, abandoned and pending attempts with high scores (an attack run) change nothing.
        for outcome in (LoginEvent.Outcome.DENIED, LoginEvent.Outcome.ABANDONED, LoginEvent.Outcome.PENDING):
            self.events([8.0] * 300, outcome=outcome)
        # Nor do first sign-ins, or events older than the window.
        self.events([8.0] * 300, earlier=0)
        LoginEvent.objects.filter(score=8.0, earlier_sign_ins=0).update(created_at=clock.now() - timedelta(days=31))
        self.events([8.0] * 300, earlier=None)
        self.assertEqual(calibration_apply()[2].challenge, expected)

    def test_sign_ins_a_rule_challenged_count_towards_the_target(self):
        scores = [-3.0 + k / 200 for k in range(990)]
        self.events(scores)
        self.events([-3.5] * 10, reasons=[{"code": "impossible_travel", "floor": "challenge", "weight": 2.5}])
        band = calibration_apply()[2]
        self.assertEqual(band.floored, 10)
        self.assertEqual(band.sign_ins, 1000)
        above = sum(s >= band.challenge for s in scores)
        self.assertLessEqual(above + 10, 30)

    def test_the_sign_in_uses_its_bands_threshold(self):
        for i in range(12):
            login_succeeded(context=ctx(self.user.pk, minutes=i * 60 * 24, device_id="cookie"))
        probe = ctx(self.user.pk, minutes=60 * 24 * 13, device_id="cookie")
        before = login_assess(context=probe)
        self.assertEqual(before.decision, Decision.ALLOW)
        self.assertEqual(before.breakdown["history"], 12)
        self.assertEqual(before.breakdown["challenge_threshold"], -1.3)
        # The band's completed sign-ins all scored far below this one: the threshold drops below it.
        self.events([-4.5] * 970 + [before.score - 0.5] * 30)
        band = calibration_apply()[2]
        self.assertLess(band.challenge, before.score)
        after = login_assess(context=probe)
        self.assertEqual(after.decision, Decision.CHALLENGE)
        self.assertEqual(after.breakdown["challenge_threshold"], band.challenge)

    def test_threshold_read_failure_fails_closed(self):
        for i in range(3):
            login_succeeded(context=ctx(self.user.pk, minutes=i * 60 * 24))
        with mock.patch("risk.calibration._load_table", side_effect=DatabaseError("down")):
            result = login_assess(context=ctx(self.user.pk, minutes=60 * 24 * 4))
        self.assertEqual(result.decision, Decision.CHALLENGE_STRONG)
        self.assertIn("engine_error", result.reason_codes)

    def test_stored_threshold_outside_tightened_bounds_is_clamped_when_read(self):
        ChallengeThreshold.objects.create(
            computed_at=T0,
            band_min=10,
            band_max=49,
            challenge=3.9,
            calibrated=True,
            fixed_default=-1.3,
            target_rate=0.03,
            sign_ins=500,
            floored=0,
            window_days=30,
        )
        with override_settings(RISK_CALIBRATION={**CALIBRATION, "CEILING": 1.0}):
            self.assertEqual(site_thresholds().for_history(10)["CHALLENGE"], 1.0)


@override_settings(RISK_CALIBRATION=CALIBRATION)
class CalibrateCommandTests(TestCase):
    def setUp(self):
        clear_site_thresholds_cache()
        self.addCleanup(clear_site_thresholds_cache)

    def call(self, *args):
        out = io.StringIO()
        call_command("risk_calibrate", *args, stdout=out)
        return out.getvalue()

    def test_apply_stores_one_row_per_band(self):
        out = self.call("--apply")
        self.assertIn("too few sign-ins: fixed default", out)
        self.assertIn("10-49", out)
        self.assertEqual(ChallengeThreshold.objects.count(), 4)

    def test_dry_run_stores_nothing(self):
        self.assertIn("nothing stored", self.call("--apply", "--dry-run"))
        self.assertFalse(ChallengeThreshold.objects.exists())

    def test_refusals(self):
        cases = (
            (("--apply", "scores.csv", "input.csv"), "takes no files"),
            (("--apply", "--target", "0.9"), "takes no files"),
            (("--dry-run",), "go with --apply"),
            (("--apply", "--every", "5"), "at least 60"),
            ((), "give SCORES.csv and INPUT.csv"),
        )
        for args, message in cases:
            with self.subTest(args=args), self.assertRaisesRegex(CommandError, message):
                self.call(*args)
        self.assertFalse(ChallengeThreshold.objects.exists())

    def test_bad_settings_refused_before_anything_is_stored(self):
        with override_settings(RISK_TARGET_CHALLENGE_RATE=1.5), self.assertRaisesRegex(CommandError, "RISK_TARGET"):
            self.call("--apply")
        self.assertFalse(ChallengeThreshold.objects.exists())

    def test_every_runs_again_and_survives_a_failed_run(self):
        calls = []

        def fake_apply(cfg):
            calls.append(cfg)
            if len(calls) == 1:
                raise DatabaseError("database restarting")
            return []

        sleeps = []

        def fake_sleep(seconds):
            sleeps.append(seconds)
            if len(sleeps) == 2:
                raise KeyboardInterrupt

        with (
            mock.patch("risk.management.commands.risk_calibrate.calibration_apply", side_effect=fake_apply),
            mock.patch("risk.management.commands.risk_calibrate.time.sleep", side_effect=fake_sleep),
            # The loop reconnects after each run; closing the test's own connection would end its
            # transaction (on PostgreSQL), so the call is counted instead.
            mock.patch("risk.management.commands.risk_calibrate.connections.close_all") as close_all,
            self.assertLogs("risk.calibrate", "ERROR"),
            self.assertRaises(KeyboardInterrupt),
        ):
            self.call("--apply", "--every", "3600")
        self.assertEqual(len(calls), 2)
        self.assertEqual(sleeps, [3600, 3600])
        self.assertEqual(close_all.call_count, 2)
