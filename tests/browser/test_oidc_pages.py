"""The provider's pages in a real browser: the consent page and the Security page's app list."""

from __future__ import annotations

from django.test import override_settings

from authsite.oidc.models import Consent
from tests.browser.base import BrowserTestCase
from tests.helpers import PASSWORD, make_user
from tests.oidc.base import REDIRECT, pkce_pair
from tests.oidc.factories import make_client


@override_settings(LOGIN_STAGES=[])
class ProviderPagesBrowserTests(BrowserTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = make_user("lena@example.com")
        self.app, _ = make_client(name="Partner Books", redirect_uris=[REDIRECT], first_party=False)
        # The application itself is not running here: its callback answers with a plain page.
        self.page.route(REDIRECT + "**", lambda route: route.fulfill(status=200, body="signed in at the app"))

    def test_consent_then_the_security_page_lists_and_removes_the_app(self):
        page = self.page
        _, challenge = pkce_pair()
        page.goto(
            self.url(
                "/o/authorize/?response_type=code&scope=openid+email&state=s1&nonce=n1"
                f"&client_id={self.app.client_id}&redirect_uri={REDIRECT}"
                f"&code_challenge={challenge}&code_challenge_method=S256"
            )
        )
        page.get_by_label("Email address").fill(self.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()
        page.wait_for_selector("text=Allow Partner Books to sign you in?")
        self.assertIn("See your email address", page.content())
        self.axe.check_now()
        self.screenshot("oidc-consent")
        page.get_by_role("button", name="Allow", exact=True).click()
        page.wait_for_url(REDIRECT + "**")
        self.assertIn("code=", page.url)
        self.assertTrue(Consent.objects.filter(user=self.user, client=self.app).exists())

        page.goto(self.url("/account/security/"))
        apps = page.get_by_test_id("apps")
        self.assertIn("Partner Books", apps.inner_text())
        page.locator("#apps").scroll_into_view_if_needed()
        self.screenshot("security-apps")
        page.get_by_role("button", name="Remove Partner Books").click()
        page.wait_for_selector("text=That app can no longer use your account")
        self.assertFalse(Consent.objects.filter(user=self.user).exists())
