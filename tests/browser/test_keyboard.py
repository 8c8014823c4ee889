"""A whole sign-in with the keyboard alone: password, challenge, "Try another way", recovery code."""

from __future__ import annotations

from factors import services
from tests.browser.base import BrowserTestCase
from tests.browser.test_factor_pages import FocusMixin
from tests.helpers import PASSWORD, make_user, totp_device

ACTIVE = "(() => { const el = document.activeElement; return el ? el.tagName + ':' + el.textContent.trim() : ''; })()"


class KeyboardSignInBrowserTests(FocusMixin, BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        override = self.settings(LOGIN_STAGES=["factors.stages.ChallengeStage"])
        override.enable()
        self.addCleanup(override.disable)
        self.user = make_user("kim@example.com")
        totp_device(self.user, name="Authy")
        self.codes = services.factor_recovery_codes_generate(user=self.user)

    def tab_to(self, wanted: str, limit: int = 25) -> None:
        """Press Tab until the focused element is ``wanted`` ("TAG:text"); fail if it never is."""
        seen = []
        for _ in range(limit):
            self.page.keyboard.press("Tab")
            active = self.page.evaluate(ACTIVE)
            if active == wanted:
                return
            seen.append(active)
        self.fail(f"Tab never reached {wanted!r}; it went through {seen}")

    def test_sign_in_then_another_way_then_a_recovery_code_with_the_keyboard_alone(self):
        page = self.page
        keyboard = page.keyboard
        page.goto(self.url("/login/"))
        self.assert_focus_in("email")
        keyboard.type(self.user.email)
        keyboard.press("Tab")
        keyboard.type(PASSWORD)
        keyboard.press("Enter")
        page.wait_for_url("**/login/verify/")
        # The challenge puts the focus in the code field of the app it offers first.
        self.assert_focus_in("code")
        self.tab_to("SUMMARY:Try another way")
        keyboard.press("Enter")
        self.assertTrue(page.locator("details.another-way").evaluate("d => d.open"))
        self.tab_to("A:Recovery codes")
        keyboard.press("Enter")
        page.wait_for_url("**method=**")
        self.assert_focus_in("code")
        self.assertEqual(page.evaluate("document.activeElement.labels[0].textContent.trim()"), "Recovery code")
        keyboard.type("not-a-code")
        keyboard.press("Enter")
        # The error is tied to the field and the focus stays there for the next try.
        page.wait_for_selector(".field-errors")
        self.assert_focus_in("code")
        described = page.evaluate("document.activeElement.getAttribute('aria-describedby')")
        self.assertIn("id_code_error", described.split())
        self.assertEqual(page.evaluate("document.activeElement.getAttribute('aria-invalid')"), "true")
        page.wait_for_timeout(2100)  # a wrong code makes the next try wait (1 s, then doubling)
        keyboard.press("Control+A")
        keyboard.type(self.codes[0])
        keyboard.press("Enter")
        page.wait_for_url(self.url("/"))
        self.assertEqual(page.text_content("[data-testid=signed-in-as]"), self.user.email)
        # The status message is announced: a list inside a role=status region.
        self.assertEqual(page.locator("[role=status] > ul > li.message").count(), 1)
