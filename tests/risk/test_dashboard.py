"""The risk dashboard in the admin and the login events' reason filter."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from risk.admin import with_reason
from risk.dashboard import (
    DEFAULT_DAYS,
    _count_ticks,
    _range_ticks,
    _tick_label,
    chart_decisions,
    chart_reasons,
    chart_scores,
    dashboard_data,
    parse_days,
)
from risk.models import LoginEvent
from tests.base import BrowserClient as Client
from tests.base import SimpleTestCase
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
        self.assertLessEqual(len(queries), 6)
        self.assertEqual(data.total, 12)
        self.assertEqual(data.apps, [("", 12)], "every seeded sign-in was to this site itself")
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
        self.assertEqual(body.count('role="img" aria-labelledby="chart-'), 7)
        self.assertEqual(body.count("<title id="), 7)
        self.assertEqual(body.count("<desc id="), 7)
        self.assertIn("Sign-ins per day by decision", body)
        self.assertIn("impossible_travel", body)
        self.assertIn('<caption id="table-days">Sign-ins per day</caption>', body)
        # No script, no style attribute, nothing fetched from elsewhere.
        self.assertNotIn("<script", body.split("<svg", 1)[1])
        self.assertNotIn("style=", body)
        self.assertNotIn("https://", body.replace("http://www.w3.org/2000/svg", ""))

    def test_reasons_are_in_words_and_only_those_that_raised_the_risk(self):
        known = {"code": "known_device", "text": "You have signed in from this device before", "weight": -2.0}
        unknown = {"code": "unknown_device", "text": NEW_DEVICE["text"], "weight": 0.0, "floor": "challenge"}
        for _ in range(3):
            event(self.user, decision="allow", score=-4.0, reasons=[known])
        event(self.user, decision="challenge", score=1.0, reasons=[{**NEW_DEVICE, "weight": 1.4}, unknown, known])
        event(self.user, decision="deny", score=12.0, reasons=[TRAVEL])
        data = dashboard_data(days=1)
        self.assertEqual(dict(data.reasons), {"new_device": 1, "unknown_device": 1, "impossible_travel": 1})
        self.assertEqual(dict(data.lowered), {"known_device": 4})
        chart = str(chart_reasons(data))
        labels = re.findall(r'text-anchor="end">([^<]*)</text>', chart)
        self.assertCountEqual(
            labels,
            [
                "This sign-in is too far from your last one",
                # Two codes with the same words are told apart by their codes.
                "We don&#x27;t recognise this device (new_device)",
                "We don&#x27;t recognise this device (unknown_device)",
            ],
        )
        self.assertNotIn("signed in from this device before", chart)
        body = self.client.get(self.url, {"days": "1"}).content.decode()
        raised, lowered = (
            re.search(rf"<caption[^>]*>{caption}</caption>(.*?)</table>", body, re.S).group(1)
            for caption in ("Reasons that raised the risk", "Reasons that lowered the risk")
        )
        self.assertIn("This sign-in is too far from your last one", raised)
        self.assertIn("<code>impossible_travel</code>", raised)
        self.assertNotIn("<code>known_device</code>", raised)
        self.assertIn("You have signed in from this device before", lowered)
        self.assertIn("<code>known_device</code>", lowered)

    def test_sign_ins_are_counted_by_the_application_they_were_for(self):
        now = timezone.now()
        for _ in range(2):
            event(self.user, created_at=now, decision="allow", score=0.0, reasons=[], app="Example App", app_id="abc")
        event(self.user, created_at=now, decision="allow", score=0.0, reasons=[])
        self.assertEqual(dashboard_data(days=7).apps, [("Example App", 2), ("", 1)])
        body = self.client.get(self.url).content.decode()
        self.assertIn('<caption id="table-apps">Sign-ins by the application they were for</caption>', body)
        self.assertIn('<th scope="row">Example App</th><td>2</td>', body)
        self.assertIn('<th scope="row">This site</th><td>1</td>', body)

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


class ChartTickTests(SimpleTestCase):
    """Axis labels are distinct and exact: whole numbers for counts, round values for scores."""

    def test_count_ticks_are_whole_distinct_and_cover_the_maximum(self):
        for vmax in (0, 1, 2, 3, 5, 7, 10, 11, 24, 47, 51, 99, 100, 101, 999, 1234):
            with self.subTest(vmax=vmax):
                ticks = _count_ticks(vmax)
                self.assertEqual(ticks[0], 0)
                self.assertGreaterEqual(ticks[-1], vmax)
                self.assertTrue(all(isinstance(t, int) for t in ticks), ticks)
                steps = {b - a for a, b in itertools.pairwise(ticks)}
                self.assertEqual(len(steps), 1, ticks)
                self.assertIn(str(steps.pop()).strip("0") or "0", {"1", "2", "5"})
                self.assertLessEqual(len(ticks), 7)
        self.assertEqual(_count_ticks(10), [0, 2, 4, 6, 8, 10])
        self.assertEqual(_count_ticks(2), [0, 1, 2])

    def test_score_axis_ticks_are_round_and_labelled_exactly(self):
        for lo, hi in ((-4.4, 9.2), (2.5, 3.5), (-10.0, 20.0), (-0.37, 0.63), (-2.25, 12.0), (0.1, 0.3)):
            with self.subTest(lo=lo, hi=hi):
                ticks, decimals = _range_ticks(lo, hi)
                labels = [_tick_label(t, decimals) for t in ticks]
                self.assertGreaterEqual(len(labels), 3)
                self.assertEqual(len(set(labels)), len(labels), labels)
                self.assertTrue(all(lo - 1e-9 <= t <= hi + 1e-9 for t in ticks), ticks)
                # Each label reads back as the value drawn at its position.
                for t, label in zip(ticks, labels, strict=True):
                    self.assertAlmostEqual(float(label), t, places=9)
                self.assertFalse([lab for lab in labels if lab.startswith("-") and float(lab) == 0], labels)
        self.assertEqual([_tick_label(t, 1) for t in _range_ticks(2.5, 3.5)[0]], ["2.6", "2.8", "3.0", "3.2", "3.4"])


class ChartLabelTests(DashboardTestCase):
    def axis_labels(self, svg: str) -> list[str]:
        """The y axis labels (right-aligned) of a chart's SVG."""
        return re.findall(r'text-anchor="end">([^<]*)</text>', svg)

    def x_labels(self, svg: str) -> list[str]:
        return re.findall(r'text-anchor="middle">([^<]*)</text>', svg)

    def test_the_walkthrough_cases_have_distinct_labels(self):
        # Ten sign-ins on the busiest day (quarter steps were "0 2 5 8 10") and at most two per
        # score bin (they were "0 0 1 2 2").
        now = timezone.now()
        for i in range(10):
            event(self.user, created_at=now, decision="allow", score=-4.4 + i * 1.5, reasons=[])
        data = dashboard_data(days=30)
        for chart in (chart_decisions(data), chart_scores(data)):
            labels = self.axis_labels(chart)
            with self.subTest(labels=labels):
                self.assertGreaterEqual(len(labels), 2)
                self.assertEqual(len(set(labels)), len(labels), labels)
                self.assertTrue(all(re.fullmatch(r"\d+", lab) for lab in labels), labels)
        self.assertEqual(self.axis_labels(chart_decisions(data)), ["0", "2", "4", "6", "8", "10"])
        score_axis = [lab for lab in self.x_labels(chart_scores(data)) if lab != "score (higher is riskier)"]
        self.assertEqual(len(set(score_axis)), len(score_axis), score_axis)
        self.assertEqual(score_axis, ["-4", "-2", "0", "2", "4", "6", "8"])

    def test_a_narrow_score_range_gets_one_decimal(self):
        for _ in range(3):
            event(self.user, score=3.0)
        score_axis = [
            lab for lab in self.x_labels(chart_scores(dashboard_data(days=1))) if lab != "score (higher is riskier)"
        ]
        self.assertEqual(score_axis, ["2.6", "2.8", "3.0", "3.2", "3.4"])
