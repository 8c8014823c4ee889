"""The admin's login events and risk dashboard in a real browser (and their README screenshots)."""

from __future__ import annotations

import random
from datetime import timedelta
from urllib.parse import urlparse

from django.conf import settings
from django.utils import timezone

from risk.models import LoginEvent
from tests.base import BrowserClient as Client
from tests.browser.base import BrowserTestCase
from tests.helpers import force_login_verified, make_user

PLACES = [("NO", "Oslo", "192.0.2.", 60), ("SE", "Stockholm", "198.51.100.", 12), ("DE", "Berlin", "203.0.113.", 8)]
RARE_PLACES = [("BR", "Sao Paulo", "198.51.100."), ("AU", "Sydney", "203.0.113."), ("US", "Ashburn", "192.0.2.")]
REASONS = {
    "new_device": "We don't recognise this device",
    "new_network": "This sign-in is from a network you have not used before",
    "impossible_travel": "This sign-in is too far from your last one",
    "hosting_network": "This sign-in comes from a hosting provider's network",
    "failed_attempts": "There were several failed attempts before this one",
    "ip_reputation": "This address is on a blocklist",
}


def seed_events(users, days: int = 30, volume: tuple[int, int] = (25, 45), rng: random.Random | None = None) -> None:
    """Create a month of plausible sign-ins: mostly allowed at home, some challenged, a few refused."""
    rng = rng or random.Random(7)
    now = timezone.now()
    events = []
    for day in range(days):
        weekday = (now - timedelta(days=day)).weekday() < 5
        for _ in range(rng.randint(*volume) + (12 if weekday and days > 1 else 0)):
            user = rng.choice(users)
            at = now - timedelta(days=day, minutes=rng.randint(0, 24 * 60 - 1))
            roll = rng.random()
            if roll < 0.72:
                country, city, prefix, _ = rng.choices(PLACES, weights=[p[3] for p in PLACES])[0]
                decision, score, codes = "allow", rng.gauss(-2.5, 1.2), []
            elif roll < 0.9:
                country, city, prefix, _ = rng.choice(PLACES)
                decision, score = "challenge", rng.uniform(2.0, 5.0)
                codes = rng.sample(["new_device", "new_network", "failed_attempts"], rng.randint(1, 2))
            elif roll < 0.97:
                country, city, prefix = rng.choice(RARE_PLACES)
                decision, score = "challenge_strong", rng.uniform(5.0, 8.0)
                codes = ["new_network", rng.choice(["impossible_travel", "hosting_network"])]
            else:
                country, city, prefix = rng.choice(RARE_PLACES)
                decision, score = "deny", rng.uniform(8.0, 11.0)
                codes = ["ip_reputation", "impossible_travel"]
            events.append(
                LoginEvent(
                    created_at=at,
                    user=user,
                    ip=f"{prefix}{rng.randint(1, 254)}",
                    country=country,
                    city=city,
                    network="AS64500",
                    browser=rng.choice(["Chrome 131", "Firefox 133", "Safari 18"]),
                    os=rng.choice(["Windows 10", "Mac OS X 10.15", "iOS 18", "Linux"]),
                    mode="adaptive",
                    score=round(score, 2),
                    decision=decision,
                    reasons=[{"code": c, "text": REASONS[c]} for c in codes],
                    breakdown={"model": round(score - 1, 2), "network": 1.0 if codes else 0.0, "signals": 0.0},
                    outcome="denied" if decision == "deny" else rng.choice(["success"] * 9 + ["abandoned"]),
                )
            )
    LoginEvent.objects.bulk_create(events)


class AdminScreensBrowserTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        staff = make_user("admin@example.com", is_staff=True, is_superuser=True)
        users = [make_user(f"{name}@example.com") for name in ("alice", "bob", "carol", "dave", "erin")]
        self.users = users
        # Sign in through a test client (password + second factor are tested elsewhere) and hand the
        # session cookie to the browser.
        client = Client()
        force_login_verified(client, staff)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        host = urlparse(self.live_server_url).hostname
        self.context.add_cookies(
            [{"name": cookie.key, "value": cookie.value, "domain": host, "path": "/", "httpOnly": True}]
        )

    def test_login_events_list_and_reason_filter(self):
        seed_events(self.users, days=1, volume=(60, 60), rng=random.Random(3))
        # One the GeoIP database could not place: its country filter link needs a name too.
        LoginEvent.objects.filter(pk=LoginEvent.objects.order_by("pk").first().pk).update(country="", city="")
        page = self.page
        page.set_viewport_size({"width": 1440, "height": 900})
        page.goto(self.url("/admin/risk/loginevent/"))
        self.assertIn("Select login event", page.text_content("h1"))
        page.locator("#changelist-filter").get_by_role("link", name="unknown", exact=True).click()
        page.wait_for_url("**country=unknown**")
        self.assertEqual(page.locator("#result_list tbody tr").count(), 1)
        page.goto(self.url("/admin/risk/loginevent/"))
        page.get_by_role("link", name="new network").first.click()
        page.wait_for_url("**reason=new_network**")
        decisions = page.locator("#result_list td.field-decision").all_text_contents()
        self.assertGreater(len(decisions), 0)
        self.assertLess(len(decisions), 60)
        self.assertTrue(set(decisions) <= {"challenge", "challenge_strong"}, decisions)
        # Fold the navigation sidebar so every column of the list shows.
        page.click("#toggle-nav-sidebar")
        self.assertTrue(page.locator("#result_list th.column-outcome").is_visible())
        self.screenshot("admin-login-events")

    def test_dashboard(self):
        seed_events(self.users)
        page = self.page
        page.goto(self.url("/admin/"))
        risk = page.locator("#content .module").filter(has=page.locator("caption", has_text="Risk engine"))
        self.assertEqual(risk.count(), 1, "one Risk engine section on the admin home")
        risk.get_by_role("link", name="Risk dashboard").click()
        page.wait_for_url("**/admin/risk/dashboard/")
        self.assertIn("the last 30 days", page.text_content("h1"))
        charts = page.locator("svg[role=img]")
        # Decisions, challenge rate, thresholds per band, rate against the target, reasons,
        # countries, scores.
        self.assertEqual(charts.count(), 7)
        for i in range(7):
            box = charts.nth(i).bounding_box()
            self.assertGreater(box["width"], 600)
        self.screenshot("admin-dashboard")
        page.select_option("#days", "7")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**days=7")
        self.assertIn("the last 7 days", page.text_content("h1"))

    def test_user_page_with_factors_and_actions(self):
        from factors.models import SMSDevice, TOTPDevice
        from factors.services import factor_enroll_totp_begin, factor_recovery_codes_generate

        user = self.users[0]
        totp = factor_enroll_totp_begin(user=user, name="Authenticator on Pixel")
        TOTPDevice.objects.filter(pk=totp.device.pk).update(
            confirmed=True, preferred=True, last_used_at=timezone.now() - timedelta(hours=3)
        )
        SMSDevice.objects.create(
            user=user,
            name="Work phone",
            phone_number="+4791234567",
            calling_code=47,
            confirmed=True,
            verified_at=timezone.now(),
            throttling_failure_count=3,
            throttling_failure_timestamp=timezone.now(),
        )
        factor_recovery_codes_generate(user=user)
        page = self.page
        page.set_viewport_size({"width": 1440, "height": 900})
        page.goto(self.url(f"/admin/accounts/user/{user.pk}/change/"))
        page.click("#toggle-nav-sidebar")
        self.assertIn("Authenticator on Pixel", page.text_content("body"))
        self.assertNotIn(totp.secret_b32, page.content())
        self.assertEqual(page.locator("input[type=password]").count(), 0)
        self.screenshot("admin-user")
        page.goto(self.url("/admin/accounts/user/"))
        page.locator(f"input[name=_selected_action][value='{user.pk}']").check()
        page.select_option("select[name=action]", "clear_throttles")
        page.get_by_role("button", name="Run").click()
        self.assertEqual(  # the address as stored, not capitalised
            page.text_content(".messagelist li"), f"{user.email}: cleared the throttles (1 device(s) had failures)."
        )
        self.assertEqual(SMSDevice.objects.get(user=user).throttling_failure_count, 0)

    def test_index_and_dashboard_fit_a_phone(self):
        seed_events(self.users, days=7, volume=(5, 10))
        page = self.page
        failed: list[str] = []
        page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(self.url("/admin/"))
        self.assert_no_horizontal_scroll()
        link = page.locator("#content-main .app-risk").get_by_role("link", name="Risk dashboard").bounding_box()
        self.assertLess(link["height"], 30, "the link fits on one line")
        page.goto(self.url("/admin/risk/dashboard/"))
        self.assert_no_horizontal_scroll()
        page.get_by_text("The numbers as tables").click()
        self.assert_no_horizontal_scroll()
        self.assertEqual(failed, [])

    def column_edges(self, path: str) -> tuple[dict[str, float], float]:
        """Open a change list at 1280x800, navigation sidebar open; return each column's right edge and
        the right edge of what shows of the list (the list scrolls inside its own box)."""
        page = self.page
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(self.url(path))
        self.assertTrue(page.locator("#nav-sidebar").is_visible())
        edges = page.eval_on_selector_all(
            "#result_list thead th",
            "ths => ths.map(th => [(th.className.match(/column-(\\S+)/) || [])[1], th.getBoundingClientRect().right])",
        )
        shown = page.evaluate(
            """() => Math.min(document.documentElement.clientWidth,
                              document.querySelector('#result_list').parentElement.getBoundingClientRect().right)"""
        )
        return dict(edges), shown

    def test_the_important_columns_of_the_long_lists_fit_1280_pixels(self):
        seed_events(self.users, days=1, volume=(20, 20), rng=random.Random(5))
        LoginEvent.objects.update(user=make_user("a.rather.long.address@subdomain.example.com"))
        for path, columns in (
            ("/admin/risk/loginevent/", ("score_display", "decision", "outcome")),
            ("/admin/accounts/user/", ("email", "must_enroll")),
        ):
            with self.subTest(path=path):
                edges, shown = self.column_edges(path)
                for column in columns:
                    self.assertLessEqual(edges[column], shown, f"{column} is off-screen: {edges}")
                self.assert_no_horizontal_scroll()
