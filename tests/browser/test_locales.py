"""Every page state in every language, at desktop and phone width, checked by axe-core.

The other browser tests walk the site in English at desktop width (axe checks each page they
show). Here one test per language visits the pages a person meets, anonymous, in the middle of a
sign-in and signed in, including the states with errors and the opened "Try another way", then
shows each at 390 px (a phone) and has axe check it again. Each state must also have exactly one
``h1``, a ``lang`` attribute naming the language, no sideways scrolling on the phone, and text in
that language (its ``h1`` differs from the English one).
"""

from __future__ import annotations

from django.conf import settings

from factors import services
from tests.browser.base import BrowserTestCase
from tests.helpers import PASSWORD, make_user, totp_device

PHONE = {"width": 390, "height": 844}
# The README shows the sign-in and the challenge in two languages besides English.
SCREENSHOTS = {"sign-in": "login", "challenge": "challenge"}
SCREENSHOT_LANGUAGES = ("nb", "de")
DESKTOP = {"width": 1100, "height": 800}


class LocalePagesBrowserTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        override = self.settings(LOGIN_STAGES=["factors.stages.ChallengeStage"])
        override.enable()
        self.addCleanup(override.disable)
        self.user = make_user("lena@example.com")
        totp_device(self.user, name="Authy")
        self.codes = services.factor_recovery_codes_generate(user=self.user)
        self.english_h1: dict[str, str] = {}
        self.states = 0

    def use_language(self, code: str) -> None:
        host = self.live_server_url.split("://", 1)[1].split(":")[0]
        self.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": code, "domain": host, "path": "/"}])
        self.language = code

    def check_state(self, name: str) -> None:
        """Check the page as it is now at desktop width, then at phone width (axe runs on both)."""
        page = self.page
        facts = page.evaluate(
            "() => ({lang: document.documentElement.lang, h1: [...document.querySelectorAll('h1')]"
            ".map(h => h.textContent.trim())})"
        )
        self.assertEqual(facts["lang"], self.language, f"{name}: lang attribute")
        self.assertEqual(len(facts["h1"]), 1, f"{name}: one h1, found {facts['h1']}")
        if self.language == "en":
            self.english_h1[name] = facts["h1"][0]
        elif name in self.english_h1:
            self.assertNotEqual(facts["h1"][0], self.english_h1[name], f"{name}: not translated")
        self.axe.check_now()
        if name in SCREENSHOTS and self.language in SCREENSHOT_LANGUAGES:
            self.screenshot(f"{SCREENSHOTS[name]}-{self.language}")
        page.set_viewport_size(PHONE)
        self.axe.check_now()
        self.assert_no_horizontal_scroll()
        page.set_viewport_size(DESKTOP)
        self.states += 1

    def visit(self, name: str, path: str) -> None:
        self.page.goto(self.url(path))
        self.check_state(name)

    def walk(self, code: str) -> None:
        self.use_language(code)
        page = self.page
        self.visit("home", "/")
        self.visit("sign-in", "/login/")
        page.fill("#id_email", self.user.email)
        page.fill("#id_password", "not the password")
        page.press("#id_password", "Enter")
        page.wait_for_selector("#form-errors")
        self.check_state("sign-in error")
        self.visit("sign-up", "/signup/")
        page.click("main button[type=submit]")
        page.wait_for_selector(".field-errors")
        self.check_state("sign-up errors")
        self.visit("reset", "/password/reset/")
        self.visit("activation link", "/signup/activate/not-a-token/")
        self.visit("not found", "/no-such-page/")

        # In the middle of a sign-in: the app, the other ways, a recovery code.
        page.goto(self.url("/login/"))
        page.fill("#id_email", self.user.email)
        page.fill("#id_password", PASSWORD)
        page.press("#id_password", "Enter")
        page.wait_for_url("**/login/verify/")
        self.check_state("challenge")
        page.click("details.another-way summary")
        self.check_state("challenge, other ways")
        page.click("details.another-way li:last-child a")
        page.wait_for_url("**method=**")
        self.check_state("challenge, recovery code")
        page.fill("input[name=code]", "wrong-code")
        page.press("input[name=code]", "Enter")
        page.wait_for_selector(".field-errors")
        self.check_state("challenge, wrong code")

        # Signed in, with a fresh factor check (as changes ask for).
        self.context.clear_cookies()
        self.use_language(code)
        self.sign_in_verified(self.user, just_now=True)
        self.visit("home, signed in", "/")
        self.visit("security", "/account/security/")
        self.visit("recent sign-ins", "/account/activity/")
        self.visit("add a phone", "/account/security/sms/")
        self.visit("change password", "/password/change/")
        page.goto(self.url("/account/security/"))
        page.click("form[action$='/account/security/totp/'] button")
        page.wait_for_url("**/totp/confirm/")
        self.check_state("add an app")

    def test_every_page_state_in_every_language_and_at_phone_width(self):
        self.walk("en")  # first: the English headings every other language must differ from
        for code, _name in settings.LANGUAGES[1:]:
            with self.subTest(code):
                self.context.clear_cookies()
                self.walk(code)
        self.assertEqual(self.states, len(settings.LANGUAGES) * 18)
