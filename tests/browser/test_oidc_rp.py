"""Another application signs its users in here: a relying party under gunicorn, driven in Chromium.

The app (tests/oidc_rp) uses Authlib, not the provider's library, and validates every ID token
itself: signature against the JWKS, ``iss``, ``aud``, ``exp``, ``nonce``, ``at_hash`` and, when it
asked for ``max_age``, ``auth_time``. What the app shows is what it accepted.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.core import mail
from django.utils import timezone

from authsite.oidc import acr
from factors import otp
from tests.browser.base import DESKTOP_UA, BrowserTestCase
from tests.helpers import PASSWORD, make_user, totp_device
from tests.oidc.factories import make_client
from tests.oidc_rp.server import RelyingParty


class RelyingPartyBrowserTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.use_demo_site()
        override = self.settings(
            SITE_URL=self.live_server_url,
            FACTORS_WEBAUTHN_ORIGINS=[self.live_server_url],
            FACTORS_WEBAUTHN_RP_ID="localhost",
        )
        override.enable()
        self.addCleanup(override.disable)
        self.used_codes: set[str] = set()

    # -- the app ---------------------------------------------------------------------------------

    def start_app(self, name: str = "Example app", **client_options) -> RelyingParty:
        """Register a client for a new app process, start it, and return it."""
        from tests.oidc_rp.server import free_port

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        client, secret = make_client(
            name=name,
            redirect_uris=[f"{base}/callback/"],
            backchannel_logout_uri=f"{base}/backchannel-logout/",
            post_logout_redirect_uris=[f"{base}/logged-out/"],
            **client_options,
        )
        app = RelyingParty(
            provider_url=self.live_server_url, client_id=client.client_id, client_secret=secret or "", port=port
        )
        self.addCleanup(app.stop)
        return app

    def app_sign_in(self, app: RelyingParty, **params: str) -> None:
        """Press the app's sign-in button, with extra authorization parameters typed into its form."""
        page = self.page
        page.goto(app.url + "/")
        for name, value in params.items():
            page.get_by_label(name, exact=True).fill(value)
        page.get_by_role("button", name="Sign in with the provider").click()

    def at_app(self, app: RelyingParty) -> dict[str, str]:
        """Wait to be back at the app; return what it shows (its error, or the claims it accepted)."""
        page = self.page
        try:
            page.wait_for_url(re.compile(re.escape(app.url) + r"/(\?.*)?$"))
        except Exception:
            print("Not back at the app; at", page.url, app.output()[-3000:])
            raise
        if page.locator("[data-testid=rp-error]").count():
            return {"error": page.text_content("[data-testid=rp-error]")}
        if page.locator("[data-testid=rp-signed-out]").count():
            return {}
        return {
            key: page.text_content(f"[data-testid=rp-{key}]") for key in ("email", "sub", "acr", "amr", "auth-time")
        }

    # -- the provider ----------------------------------------------------------------------------

    def sign_up(self, email: str):
        from django.contrib.auth import get_user_model

        page = self.page
        page.goto(self.url("/signup/"))
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url("**/signup/done/")
        link = re.search(r"(http://\S+/signup/activate/\S+)", mail.outbox[-1].body).group(1)
        page.goto(link)
        page.get_by_label("The password you chose when you signed up").fill(PASSWORD)
        page.get_by_role("button", name="Confirm and activate").click()
        page.wait_for_url("**/login/")
        return get_user_model().objects.get(email=email)

    def give_app(self, user) -> bytes:
        return totp_device(user)[1]

    def password_step(self, email: str) -> None:
        page = self.page
        page.wait_for_url("**/login/**")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()

    def app_code_step(self, key: bytes) -> None:
        """Type the app's code; a code works once, so a second sign-in in the same 30 s uses the next one
        (within the one-step tolerance)."""
        page = self.page
        page.wait_for_url("**/login/verify/**")
        code = otp.totp(key, timezone.now())
        if code in self.used_codes:
            code = otp.totp(key, timezone.now() + timedelta(seconds=30))
        self.used_codes.add(code)
        page.get_by_label("6-digit code from your authenticator app").fill(code)
        page.get_by_role("button", name="Verify").click()

    def new_browser(self) -> None:
        """Continue in another browser on the same computer: same address and user agent, no cookies."""
        other = self.browser.new_context(viewport={"width": 1100, "height": 800}, user_agent=DESKTOP_UA)
        self.addCleanup(other.close)
        self.page = other.new_page()

    # -- the tests -------------------------------------------------------------------------------

    def test_sign_up_then_the_app_signs_in_allowed_on_a_known_device_and_challenged_on_a_new_one(self):
        app = self.start_app()
        user = self.sign_up("hana@example.com")
        key = self.give_app(user)

        # First sign-in of an account with a factor: asked for it, then back at the app.
        self.app_sign_in(app)
        self.password_step(user.email)
        self.skip_setup_offer()
        self.app_code_step(key)
        first = self.at_app(app)
        self.assertEqual(first["email"], user.email)
        self.assertNotEqual(first["sub"], str(user.pk))
        self.assertEqual(first["acr"], acr.MFA)
        self.assertEqual(set(first["amr"].split()), {"pwd", "otp", "mfa"})
        self.sign_out_at_provider()

        # The same browser again: the password is enough, and the token says so.
        self.app_sign_in(app)
        self.password_step(user.email)
        known = self.at_app(app)
        self.assertEqual((known["sub"], known["acr"], known["amr"]), (first["sub"], acr.PASSWORD, "pwd"))
        self.assertGreaterEqual(int(known["auth-time"]), int(first["auth-time"]))

        # Another browser: asked for the app code again.
        self.new_browser()
        self.app_sign_in(app)
        self.password_step(user.email)
        self.page.wait_for_url("**/login/verify/**")
        self.assertIn("We don't recognise this device", self.page.text_content("[data-testid=challenge-reason]"))
        self.app_code_step(key)
        self.assertEqual(self.at_app(app)["acr"], acr.MFA)

    def skip_setup_offer(self) -> None:
        """Pass the first sign-in's offer to add a passkey, when it is shown, by skipping it."""
        page = self.page
        page.wait_for_load_state()
        if "/account/setup/" in page.url:
            page.get_by_test_id("skip-setup").click()

    def sign_out_at_provider(self) -> None:
        page = self.page
        page.goto(self.url("/"))
        page.locator("header").get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/login/**")

    def add_passkey_authenticator(self) -> None:
        """Give this browser a platform authenticator (Chrome's virtual one) that holds passkeys."""
        cdp = self.context.new_cdp_session(self.page)
        cdp.send("WebAuthn.enable", {"enableUI": False})
        options = {
            "protocol": "ctap2",
            "ctap2Version": "ctap2_1",
            "transport": "internal",
            "hasResidentKey": True,
            "hasUserVerification": True,
            "isUserVerified": True,
            "automaticPresenceSimulation": True,
        }
        cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})

    def record_pages(self) -> list[str]:
        """Collect the address of every page the browser shows from now on."""
        shown: list[str] = []
        self.page.on("framenavigated", lambda frame: shown.append(frame.url) if frame == self.page.main_frame else None)
        return shown

    def signed_in_at_app(self, app: RelyingParty, user, key: bytes) -> dict[str, str]:
        self.app_sign_in(app)
        self.password_step(user.email)
        self.app_code_step(key)
        return self.at_app(app)

    def test_acr_values_ask_for_a_passkey_and_a_signed_in_session_steps_up_without_the_password(self):
        app = self.start_app()
        user = make_user("ines@example.com")
        key = self.give_app(user)
        self.add_passkey_authenticator()
        self.assertEqual(self.signed_in_at_app(app, user, key)["acr"], acr.MFA)

        page = self.page
        page.goto(self.url("/account/security/"))
        page.get_by_label("Name for this passkey").fill("Laptop")
        page.get_by_role("button", name="Add a passkey").click()
        page.wait_for_selector("text=Your passkey “Laptop” is ready")

        shown = self.record_pages()
        self.app_sign_in(app, acr_values=acr.PHISHING_RESISTANT)
        page.wait_for_url("**/login/verify/**")
        self.assertEqual(
            page.get_by_label("6-digit code from your authenticator app").count(), 0, "only a passkey counts"
        )
        page.get_by_role("button", name="Use security key or passkey").click()
        stepped = self.at_app(app)
        self.assertEqual(stepped["acr"], acr.PHISHING_RESISTANT, stepped)
        self.assertIn("mfa", stepped["amr"].split())
        self.assertFalse(
            [url for url in shown if "/login/?" in url or url.endswith("/login/")], "asked for the password again"
        )

    def test_acr_values_a_user_without_a_passkey_cannot_meet_never_yield_a_weaker_token(self):
        app = self.start_app()
        user = make_user("jon@example.com")
        key = self.give_app(user)
        self.app_sign_in(app, acr_values=acr.PHISHING_RESISTANT)
        self.password_step(user.email)
        page = self.page
        page.wait_for_load_state()
        self.screenshot("oidc-passkey-needed")
        self.assertIn("passkey", page.text_content("main").lower())
        self.assertEqual(page.get_by_label("6-digit code from your authenticator app").count(), 0)
        # Whatever the user does next, the app never receives a token below what it asked for.
        page.goto(app.url + "/")
        self.assertEqual(self.at_app(app), {})
        del key

    def test_max_age_zero_asks_for_the_password_again_and_updates_auth_time(self):
        app = self.start_app()
        user = make_user("kai@example.com")
        key = self.give_app(user)
        first = self.signed_in_at_app(app, user, key)
        self.page.wait_for_timeout(1100)  # auth_time counts whole seconds
        self.app_sign_in(app, max_age="0")
        self.password_step(user.email)
        page = self.page
        page.wait_for_load_state()
        if "/login/verify/" in page.url:
            self.app_code_step(key)
        again = self.at_app(app)
        self.assertEqual(again["sub"], first["sub"])
        self.assertGreater(int(again["auth-time"]), int(first["auth-time"]))

    def test_prompt_none_when_signed_out_returns_login_required_without_a_page(self):
        app = self.start_app()
        shown = self.record_pages()
        self.app_sign_in(app, prompt="none")
        self.assertEqual(self.at_app(app), {"error": "login_required"})
        self.assertFalse([url for url in shown if url.startswith(self.live_server_url)], shown)

    def test_a_third_party_app_asks_for_consent_once_and_the_security_page_revokes_it(self):
        app = self.start_app("Partner Reports", first_party=False)
        user = make_user("lea@example.com")
        key = self.give_app(user)
        self.app_sign_in(app)
        self.password_step(user.email)
        self.app_code_step(key)
        page = self.page
        page.wait_for_selector("text=Allow Partner Reports to sign you in?")
        self.assertIn("See your email address", page.text_content("main"))
        page.get_by_role("button", name="Allow", exact=True).click()
        self.assertEqual(self.at_app(app)["email"], user.email)
        page.goto(app.url + "/userinfo/")
        self.assertTrue(page.text_content("body").startswith("200 "), page.text_content("body"))

        # Allowed once: the next sign-in at the app goes straight back.
        self.app_sign_in(app)
        self.assertEqual(self.at_app(app)["email"], user.email)

        page.goto(self.url("/account/security/"))
        apps = page.get_by_test_id("app")
        self.assertEqual(apps.count(), 1)
        self.assertIn("Partner Reports", apps.text_content())
        self.assertIn("last used", apps.text_content())
        apps.get_by_role("button", name="Remove Partner Reports").click()
        page.wait_for_load_state()
        self.assertEqual(page.get_by_test_id("app").count(), 0)
        page.goto(app.url + "/userinfo/")
        self.assertTrue(page.text_content("body").startswith("401"), page.text_content("body"))

    def test_signing_out_at_one_app_ends_the_site_session_and_the_other_apps_session(self):
        reports = self.start_app("Reports")
        mail_app = self.start_app("Webmail")
        user = make_user("mia@example.com")
        key = self.give_app(user)
        self.assertEqual(self.signed_in_at_app(reports, user, key)["email"], user.email)
        # Single sign-on: the second app gets a token without a page at the provider.
        self.app_sign_in(mail_app)
        self.assertEqual(self.at_app(mail_app)["email"], user.email)

        page = self.page
        page.goto(reports.url + "/")
        page.get_by_role("button", name="Sign out of the app").click()
        page.wait_for_selector("[data-testid=rp-logged-out]")
        # The site session is over...
        page.goto(self.url("/account/security/"))
        self.assertIn("/login/", page.url)
        # ...and the provider told the other app (back-channel), which ended its session too.
        page.goto(mail_app.url + "/")
        self.assertEqual(self.at_app(mail_app), {})
