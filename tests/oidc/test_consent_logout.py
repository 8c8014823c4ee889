"""Consent for third-party apps, the Security page's app list with revoke, end-session and
back-channel logout (OpenID Connect RP-Initiated Logout 1.0, Back-Channel Logout 1.0)."""

from __future__ import annotations

import http.server
import threading
from urllib.parse import parse_qs

import jwt as pyjwt
from django.contrib.auth import SESSION_KEY
from django.test import override_settings

from authsite.oidc.models import ClientSession, Consent
from tests.base import BrowserClient
from tests.oidc.base import CHALLENGE_ONLY, ISSUER, JWKS, REDIRECT, USERINFO, OidcTestCase, query_of
from tests.oidc.factories import make_client

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


@override_settings(LOGIN_STAGES=CHALLENGE_ONLY)
class ConsentTests(OidcTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.partner, self.partner_secret = make_client(
            name="Partner Books", redirect_uris=[REDIRECT], first_party=False
        )

    def _consent_page(self):
        first = self.browser.get(self.authorize_url(self.partner))
        done = self.sign_in(query_of(first["Location"])["next"])
        page = self.browser.get(done["Location"])
        self.assertEqual(page.status_code, 200)
        return page

    def test_a_third_party_app_gets_a_consent_page_naming_it_and_the_scopes(self):
        page = self._consent_page()
        self.assertContains(page, "Allow Partner Books to sign you in?")
        self.assertContains(page, "See your email address")
        self.assertContains(page, "(email)")
        self.assertEqual(Consent.objects.count(), 0)

    def test_allow_gives_a_code_and_is_remembered(self):
        page = self._consent_page()
        response = self.browser.post(page.wsgi_request.get_full_path(), {"allow": "yes"})
        code = self.code_from(response)
        self.assertIn("id_token", self.tokens(code, app=self.partner, secret=self.partner_secret))
        self.assertEqual(Consent.objects.get(user=self.user, client=self.partner).scopes.split(), ["openid", "email"])
        # Next time: no page.
        self.code_from(self.browser.get(self.authorize_url(self.partner)))

    def test_dont_allow_is_access_denied_for_the_app(self):
        page = self._consent_page()
        response = self.browser.post(page.wsgi_request.get_full_path(), {"allow": "no"})
        self.assertEqual(query_of(response["Location"])["error"], "access_denied")
        self.assertFalse(Consent.objects.exists())

    def test_a_first_party_app_asks_no_consent(self):
        first = self.browser.get(self.authorize_url())
        done = self.sign_in(query_of(first["Location"])["next"])
        self.code_from(self.browser.get(done["Location"]))


@override_settings(LOGIN_STAGES=CHALLENGE_ONLY)
class SecurityPageAppsTests(OidcTestCase):
    def test_the_security_page_lists_the_app_and_removing_it_ends_its_tokens(self):
        tokens = self.tokens(self.sign_in_for_code())
        page = self.browser.get("/account/security/")
        self.assertContains(page, "Apps that use your account")
        self.assertContains(page, "Example App")
        self.assertContains(page, "last used")
        response = self.browser.post("/account/security/apps/revoke/", {"client_id": self.app.client_id})
        self.assertRedirects(response, "/account/security/#apps", fetch_redirect_response=False)
        gone = BrowserClient().get(USERINFO, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
        self.assertEqual(gone.status_code, 401)
        self.assertNotContains(self.browser.get("/account/security/"), "Example App")

    def test_another_users_app_cannot_be_removed(self):
        self.tokens(self.sign_in_for_code())
        other = BrowserClient()
        from tests.helpers import make_user

        other.force_login(make_user("bob@example.com"))
        other.post("/account/security/apps/revoke/", {"client_id": self.app.client_id})
        self.assertTrue(Consent.objects.filter(user=self.user).exists())


class _Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = parse_qs(self.rfile.read(length).decode())
        type(self).received.append({k: v[0] for k, v in body.items()})
        self.send_response(200)
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@override_settings(LOGIN_STAGES=CHALLENGE_ONLY)
class LogoutTests(OidcTestCase):
    def setUp(self) -> None:
        super().setUp()
        _Receiver.received = []
        self.server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.app, self.secret = make_client(
            name="Notes",
            redirect_uris=[REDIRECT],
            post_logout_redirect_uris=["https://app.example.com/signed-out"],
            backchannel_logout_uri=f"http://127.0.0.1:{self.server.server_port}/backchannel",
        )

    def test_end_session_signs_out_and_the_app_gets_a_valid_logout_token(self):
        claims = self.id_claims(self.tokens(self.sign_in_for_code())["id_token"])
        id_token = self.last_id_token
        response = self.browser.get(
            "/o/logout/",
            {
                "id_token_hint": id_token,
                "post_logout_redirect_uri": "https://app.example.com/signed-out",
                "state": "bye",
            },
        )
        self.assertEqual(response.status_code, 302, response.content[:300])
        self.assertEqual(response["Location"], "https://app.example.com/signed-out?state=bye")
        self.assertNotIn(SESSION_KEY, self.browser.session)
        self.assertEqual(len(_Receiver.received), 1)
        token = _Receiver.received[0]["logout_token"]
        jwks = BrowserClient().get(JWKS).json()
        key = next(k for k in jwks["keys"] if k["kid"] == pyjwt.get_unverified_header(token)["kid"])
        self.assertEqual(pyjwt.get_unverified_header(token)["typ"], "logout+jwt")
        logout = pyjwt.decode(
            token, pyjwt.PyJWK(key).key, algorithms=[key["alg"]], audience=self.app.client_id, issuer=ISSUER
        )
        self.assertEqual(logout["sub"], claims["sub"])
        self.assertEqual(logout["sid"], claims["sid"])
        self.assertEqual(logout["events"], {LOGOUT_EVENT: {}})
        self.assertNotIn("nonce", logout)
        self.assertFalse(ClientSession.objects.exists())

    def test_signing_out_of_the_site_tells_the_app_too(self):
        self.tokens(self.sign_in_for_code())
        self.browser.post("/logout/")
        self.assertEqual(len(_Receiver.received), 1)

    def test_an_unreachable_app_does_not_stop_the_sign_out(self):
        self.tokens(self.sign_in_for_code())
        self.server.shutdown()
        self.server.server_close()
        self.browser.post("/logout/")
        self.assertNotIn(SESSION_KEY, self.browser.session)

    def test_an_unregistered_post_logout_redirect_is_refused(self):
        self.tokens(self.sign_in_for_code())
        response = self.browser.get(
            "/o/logout/", {"id_token_hint": self.last_id_token, "post_logout_redirect_uri": "https://evil.example/"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertFalse(response.has_header("Location"))
        self.assertIn(SESSION_KEY, self.browser.session)

    def test_without_an_id_token_hint_the_user_is_asked(self):
        self.tokens(self.sign_in_for_code())
        page = self.browser.get("/o/logout/")
        self.assertContains(page, "Sign out?")
        self.assertIn(SESSION_KEY, self.browser.session)
        self.browser.post("/o/logout/", {"allow": "on"})
        self.assertNotIn(SESSION_KEY, self.browser.session)
