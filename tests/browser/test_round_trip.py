"""The sign-in page measures its round-trip time with its own script, and the risk engine gets it."""

from __future__ import annotations

from risk.models import LoginEvent
from tests.browser.base import BrowserTestCase
from tests.helpers import PASSWORD, make_user


class RoundTripBrowserTests(BrowserTestCase):
    def test_sign_in_page_measures_and_sends_the_round_trip(self):
        user = make_user("rita@example.com")
        probes: list[str] = []
        self.page.on("request", lambda request: probes.append(request.url) if "/login/rtt/" in request.url else None)
        self.page.goto(self.url("/login/"))
        self.assert_every_input_has_a_visible_label()
        # Polled from here: the page's CSP (script-src 'self') forbids evaluating test code in it.
        for _ in range(200):
            if len(probes) >= 6 and self.page.input_value("#rtt-ms"):
                break
            self.page.wait_for_timeout(25)
        # Six same-origin requests (the first only opens the connection), nothing elsewhere.
        self.assertEqual(len(probes), 6)
        self.assertTrue(all(url.startswith(self.live_server_url) for url in probes))
        measured = float(self.page.input_value("#rtt-ms"))
        self.assertGreater(measured, 0)
        self.assertLess(measured, 10_000)
        self.page.get_by_label("Email address").fill(user.email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Continue").click()
        self.page.wait_for_load_state("networkidle")
        event = LoginEvent.objects.get(user=user)
        self.assertIsNotNone(event.round_trip_ms)
        self.assertGreater(event.round_trip_ms, 0)
