"""The five-minute demo in a real browser: Oslo, then Sao Paulo minutes later, with reasons shown."""

from __future__ import annotations

from django.utils import timezone

from factors import otp, services
from tests.browser.base import DESKTOP_UA, BrowserTestCase
from tests.helpers import PASSWORD, make_user

PHONE = {"width": 390, "height": 844}


class DemoBrowserTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.use_demo_site()
        self.user = make_user("gina@example.com")
        enrollment = services.factor_enroll_totp_begin(user=self.user, name="Phone app")
        enrollment.device.confirmed = True
        enrollment.device.save()
        self.key = enrollment.device.bin_key

    def be_in(self, label: str) -> None:
        page = self.page
        page.goto(self.url("/demo/"))
        page.get_by_label(label).check()
        page.get_by_role("button", name="Use this place").click()

    def sign_in(self) -> None:
        page = self.page
        page.goto(self.url("/login/"))
        page.get_by_label("Email address").fill(self.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()

    def test_oslo_then_sao_paulo_minutes_later_asks_for_a_strong_factor_and_says_why(self):
        page = self.page
        self.be_in("Oslo, Norway (home broadband)")
        self.assertEqual(page.text_content("[data-testid=demo-ip]"), "192.0.2.10")
        self.screenshot("demo")
        self.sign_in()
        page.wait_for_url("**/login/verify/")  # first sign-in with a factor: asked once
        page.get_by_label("6-digit code from your authenticator app").fill(otp.totp(self.key, timezone.now()))
        page.get_by_role("button", name="Verify").click()
        page.wait_for_url(self.url("/"))
        page.locator("header").get_by_role("button", name="Sign out").click()

        self.be_in("Sao Paulo, Brazil (telecom)")
        self.sign_in()
        page.wait_for_url("**/login/verify/")
        reasons = page.text_content("[data-testid=challenge-reason]")
        self.assertIn("too far from your last one", reasons)
        self.assertIn("new country", reasons)
        self.screenshot("challenge-risk")

    def test_a_new_browser_on_a_young_account_is_asked_for_the_factor(self):
        page = self.page
        self.sign_in()
        page.wait_for_url("**/login/verify/")  # the first sign-in of an account with a factor
        page.get_by_label("6-digit code from your authenticator app").fill(otp.totp(self.key, timezone.now()))
        page.get_by_role("button", name="Verify").click()
        page.wait_for_url(self.url("/"))
        page.locator("header").get_by_role("button", name="Sign out").click()
        self.sign_in()
        page.wait_for_url(self.url("/"))  # the same browser again: the password is enough
        page.locator("header").get_by_role("button", name="Sign out").click()

        # Another browser on the same computer: same address and user agent, none of our cookies.
        other = self.browser.new_context(viewport={"width": 1100, "height": 800}, user_agent=DESKTOP_UA)
        self.addCleanup(other.close)
        self.page = other.new_page()
        self.sign_in()
        self.page.wait_for_url("**/login/verify/")
        reasons = self.page.locator("[data-testid=challenge-reason] li").all_text_contents()
        self.assertEqual(reasons.count("We don't recognise this device"), 1, reasons)
        self.assertEqual(len(reasons), len(set(reasons)), reasons)
        self.page.goto(self.url("/account/security/"))
        self.assertTrue(self.page.url.startswith(self.url("/login/")), "the new browser is not signed in")

    def test_each_place_lines_up_with_the_first_line_of_its_label_and_the_hint_names_offered_places(self):
        page = self.page
        for viewport in (PHONE, {"width": 1100, "height": 800}):
            page.set_viewport_size(viewport)
            page.goto(self.url("/demo/"))
            rows = page.eval_on_selector_all(
                ".places .checkbox",
                """rows => rows.map(row => {
                    const box = row.querySelector("input").getBoundingClientRect();
                    const label = row.querySelector("label");
                    const range = document.createRange();
                    range.selectNodeContents(label);
                    const first = range.getClientRects()[0];
                    return {label: label.textContent.trim(), box: (box.top + box.bottom) / 2,
                            line: (first.top + first.bottom) / 2,
                            lines: Math.round(label.getBoundingClientRect().height
                                              / parseFloat(getComputedStyle(label).lineHeight))};
                })""",
            )
            self.assertEqual(len(rows), 5)
            for row in rows:
                self.assertLessEqual(abs(row["box"] - row["line"]), 2, f"{viewport}: {row}")
            if viewport is PHONE:
                self.assertGreater(max(r["lines"] for r in rows), 1, "some labels wrap on a phone")
                self.screenshot("demo-mobile")
            self.assert_no_horizontal_scroll()
        hint = page.text_content("p.aside")
        self.assertIn("Try Oslo, sign out, switch to Sao Paulo", hint)
        self.assertEqual(page.get_by_label("Sao Paulo, Brazil (telecom)").count(), 1)
