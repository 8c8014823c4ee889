"""The risk dashboard in the admin and the login events' reason filter."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from risk.admin import with_reason
from risk.dashboard import DEFAULT_DAYS, dashboard_data, parse_days
from risk.models import LoginEvent
from tests.helpers import CacheClearingTestCase, force_login_verified, make_user
from tests.risk.test_admin_and_controls import event

NEW_DEVICE = {"code": "new_device", "text": "We don't recognise this device"}
TRAVEL = {"code": "impossible_travel", "text": "This sign-in is too far from your last one"}


class DashboardTestCase(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.staff = make_user("admin@example.com", is_staff=True, is_superuser=True)
        force_login_verified(self.client, self.staff)
        self.user = make_user()
        self.url = reverse("admin:risk_dashboard")

    def seed(self) -> None:
        now = timezone.now()
        for day in range(5):
            at = now - timedelta(days=day)
            event(self.user, created_at=at, decision="allow", score=-2.0 + day, reasons=[], country="NO")
            event(self.user, created_at=at, decision="challenge", score=3.5, reasons=[NEW_DEVICE], country="NO")
        event(self.user, created_at=now, decision="deny", score=12.0, reasons=[TRAVEL, NEW_DEVICE], country="AU")
        event(self.user, created_at=now, decision="challenge", score=None, reasons=[], country="")
        # Outside the default period.
        event(self.user, created_at=now - timedelta(days=40), decision="deny", score=9.0, reasons=[TRAVEL])


class DashboardDataTests(DashboardTestCase):
    def test_aggregates(self):
        self.seed()
        with CaptureQueriesContext(connection) as queries:
            data = dashboard_data(days=30)
        self.assertLessEqual(len(queries), 5)
        self.assertEqual(data.total, 12)
        self.assertEqual(data.by_decision, {"allow": 5, "challenge": 6, "challenge_strong": 0, "deny": 1})
        self.assertEqual(dict(data.reasons), {"new_device": 6, "impossible_travel": 1})
        self.assertEqual(dict(data.countries), {"NO": 10, "AU": 1, "unknown": 1})
        self.assertEqual(sum(n for _, _, n in data.score_bins), 11)
        self.assertEqual(data.engine_errors, 1)
        today = timezone.now().date()
        self.assertAlmostEqual(data.challenge_rate(today), 3 / 4)
        self.assertEqual(len(dashboard_data(days=60).dates), 60)
        self.assertEqual(dashboard_data(days=60).total, 13)

    def test_scores_all_equal_and_extremes_land_in_the_edge_bins(self):
        for score in (3.0, 3.0, 3.0):
            event(self.user, score=score)
        bins = dashboard_data(days=1).score_bins
        self.assertEqual(sum(n for _, _, n in bins), 3)
        self.assertLess(bins[0][0], 3.0)
        self.assertGreater(bins[-1][1], 3.0)
        event(self.user, score=-10.0)
        event(self.user, score=20.0)
        bins = dashboard_data(days=1).score_bins
        self.assertEqual((bins[0][2], bins[-1][2]), (1, 1))
        self.assertEqual((bins[0][0], bins[-1][1]), (-10.0, 20.0))

    def test_parse_days(self):
        for raw, expected in (
            (None, DEFAULT_DAYS),
            ("", DEFAULT_DAYS),
            ("7", 7),
            (" 90 ", 90),
            ("0", DEFAULT_DAYS),
            ("-3", DEFAULT_DAYS),
            ("366", DEFAULT_DAYS),
            ("abc", DEFAULT_DAYS),
            ("1e9", DEFAULT_DAYS),
            ("\uff19", DEFAULT_DAYS),  # a full-width digit, which int() would accept
            ("99999999999999999999999", DEFAULT_DAYS),
        ):
            with self.subTest(raw=raw):
                self.assertEqual(parse_days(raw), expected)


class DashboardPageTests(DashboardTestCase):
    def test_renders_with_data(self):
        self.seed()
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 200)
        body = response.content.decode()
        self.assertEqual(body.count('role="img" aria-labelledby="chart-'), 5)
        self.assertEqual(body.count("<title id="), 5)
        self.assertEqual(body.count("<desc id="), 5)
        self.assertIn("Sign-ins per day by decision", body)
        self.assertIn("impossible_travel", body)
        self.assertIn("<caption>Sign-ins per day</caption>", body)
        # No script, no style attribute, nothing fetched from elsewhere.
        self.assertNotIn("<script", body.split("<svg", 1)[1])
        self.assertNotIn("style=", body)
        self.assertNotIn("https://", body.replace("http://www.w3.org/2000/svg", ""))

    def test_renders_without_data(self):
        response = self.client.get(self.url)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "No sign-ins in this period")

    def test_bad_days_fall_back_to_the_default(self):
        self.seed()
        for raw in ("abc", "-1", "0", "100000", "7'", "%00"):
            with self.subTest(days=raw):
                response = self.client.get(self.url, {"days": raw})
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, "the last 30 days")
        self.assertContains(self.client.get(self.url, {"days": "7"}), "the last 7 days")

    def test_index_links_to_the_dashboard(self):
        self.assertContains(self.client.get(reverse("admin:index")), f'href="{self.url}"')

    def test_refused_without_a_verified_staff_session(self):
        for who, login in (
            (make_user("p@example.com"), force_login_verified),
            (make_user("s@example.com", is_staff=True), Client.force_login),
        ):
            client = Client()
            login(client, who)
            with self.subTest(who=who.email):
                self.assertNotEqual(client.get(self.url).status_code, 200)
        self.assertEqual(Client().get(self.url).status_code, 302)


class ReasonFilterTests(DashboardTestCase):
    def test_with_reason_matches_codes_exactly(self):
        self.seed()
        self.assertEqual(with_reason(LoginEvent.objects.all(), "new_device").count(), 6)
        self.assertEqual(with_reason(LoginEvent.objects.all(), "impossible_travel").count(), 2)
        self.assertEqual(with_reason(LoginEvent.objects.all(), "new").count(), 0)
        self.assertEqual(with_reason(LoginEvent.objects.all(), "x' OR 1=1 --").count(), 0)

    def test_changelist_filter_and_reason_display(self):
        self.seed()
        url = reverse("admin:risk_loginevent_changelist")
        response = self.client.get(url)
        self.assertContains(response, "By reason")
        self.assertContains(response, "?reason=impossible_travel")
        response = self.client.get(url, {"reason": "impossible_travel"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.context["cl"].result_count, 2)

    def test_change_page_shows_contributions(self):
        e = event(
            self.user,
            reasons=[{**NEW_DEVICE, "weight": 2.5}],
            breakdown={"model": 2.5, "network": 1.0, "signals": 0.0, "trust": -1.0},
        )
        response = self.client.get(reverse("admin:risk_loginevent_change", args=[e.pk]))
        self.assertContains(response, "(+2.50)")
        self.assertContains(response, "history model +2.50")
        self.assertContains(response, "trust -1.00")


class RiskSettingsPanelTests(DashboardTestCase):
    def test_settings_in_force_are_shown_with_their_source(self):
        with override_settings(
            RISK_MODE="strict", RISK_THRESHOLDS={"CHALLENGE": -1.0, "CHALLENGE_STRONG": 4.5, "DENY": 9.0}
        ):
            page = self.client.get(self.url)
        self.assertContains(page, "Risk settings in force")
        rows = dict((name, (value, source)) for name, value, source in page.context["settings_rows"])
        self.assertEqual(rows["RISK_MODE"], ("strict", "settings"))
        self.assertEqual(rows["RISK_UNSEEN_FACTOR"], ("4.0", "default"))
        self.assertIn("'CHALLENGE': -1.0", rows["RISK_THRESHOLDS"][0])
        self.assertContains(page, "<code>RISK_THRESHOLDS</code>", html=True)
