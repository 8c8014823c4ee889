"""Passkey autofill: the sign-in page's conditional WebAuthn request, in headless Chromium.

Chromium's virtual authenticator (DevTools WebAuthn domain) answers a conditional request as a
person picking the saved passkey from the email field's suggestions would, so the whole sign-in
runs for real: the page asks with ``mediation: "conditional"``, the server checks the assertion
like "Sign in with a passkey", and the user lands signed in without typing anything.
"""

from __future__ import annotations

from tests.browser.base import NO_CONDITIONAL_MEDIATION, BrowserTestCase, PasskeyBrowserMixin

# Reports the mediation of every navigator.credentials.get() call, before the page's own script runs.
RECORD_GET_CALLS = """
(() => {
  if (!navigator.credentials) return;
  const original = navigator.credentials.get.bind(navigator.credentials);
  navigator.credentials.get = options => {
    window.recordCredentialGet((options && options.mediation) || "optional");
    return original(options);
  };
})();
"""


class PasskeyAutofillBrowserTests(PasskeyBrowserMixin, BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.use_passkey_site("pat@example.com")
        self.gets: list[str] = []
        self.context.expose_function("recordCredentialGet", self.record_get)
        self.context.add_init_script(RECORD_GET_CALLS)

    def record_get(self, mediation: str) -> None:
        self.gets.append(mediation)

    def register_passkey(self) -> None:
        self.add_authenticator(passkey=True)
        self.sign_in_with_password()
        self.assertEqual(self.signed_in_as(), self.user.email)
        page = self.page
        page.goto(self.url("/account/security/"))
        page.get_by_label("Name for this passkey").fill("Laptop")
        page.get_by_role("button", name="Add a passkey").click()
        page.wait_for_selector("text=Your passkey “Laptop” is ready")
        # Signed out by forgetting the session cookie: the sign-in page the sign-out button leads
        # to would already sign in again through the autofill request.
        self.context.clear_cookies()

    def test_a_saved_passkey_signs_in_from_the_email_field_without_the_password(self):
        self.register_passkey()
        self.gets.clear()
        page = self.page
        # Nothing is typed or clicked: the page loads, asks, and the answer signs in (to ?next=).
        page.goto(self.url("/login/?next=/account/security/"))
        page.wait_for_url(self.url("/account/security/"))
        self.assertEqual(self.gets, ["conditional"])
        self.assertIn(self.user.email, page.text_content("header"))

    def test_without_a_saved_passkey_the_request_waits_and_the_password_works(self):
        self.add_authenticator(passkey=True)  # holds no passkey for this site
        page = self.page
        page.goto(self.url("/login/"))
        self.assertEqual(page.locator("#id_email").get_attribute("autocomplete"), "username webauthn")
        page.wait_for_timeout(300)
        self.assertEqual(self.gets, ["conditional"])
        self.assertEqual(page.url, self.url("/login/"))
        self.assertEqual(page.locator("[data-webauthn-status]").text_content(), "")
        page.get_by_label("Email address").fill(self.user.email)
        page.get_by_label("Password", exact=True).fill("correct horse battery staple")
        page.get_by_role("button", name="Continue").click()
        self.assertEqual(self.signed_in_as(), self.user.email)

    def test_the_button_takes_over_from_a_pending_autofill_request(self):
        self.register_passkey()
        # A person who has not picked from the suggestions yet: conditional requests stay pending
        # (recorded, then held until aborted) while other requests go to the authenticator.
        page = self.page
        page.add_init_script(
            "(() => { const get = navigator.credentials.get.bind(navigator.credentials);"
            " navigator.credentials.get = o => { if (!o || o.mediation !== 'conditional') return get(o);"
            " window.recordCredentialGet('conditional');"
            " return new Promise((_, reject) => o.signal.addEventListener('abort',"
            " () => reject(new DOMException('aborted', 'AbortError')))); }; })();"
        )
        self.gets.clear()
        page.goto(self.url("/login/"))
        page.wait_for_timeout(300)
        page.get_by_role("button", name="Sign in with a passkey").click()
        self.assertEqual(self.signed_in_as(), self.user.email)
        self.assertEqual(self.gets, ["conditional", "optional"])

    def test_a_browser_without_conditional_mediation_makes_no_autofill_request(self):
        self.context.add_init_script(NO_CONDITIONAL_MEDIATION)
        self.add_authenticator(passkey=True)
        self.page.goto(self.url("/login/"))
        self.page.wait_for_timeout(300)
        self.assertEqual(self.gets, [])
        self.assertTrue(self.page.get_by_role("button", name="Sign in with a passkey").is_enabled())
