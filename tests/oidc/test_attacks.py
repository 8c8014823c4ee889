"""Attacks on the provider (docs/SECURITY.md, OWASP ASVS 5.0 chapter 10)."""

from __future__ import annotations

import base64

from django.core.cache import cache
from django.test import override_settings
from oauth2_provider.models import get_access_token_model

from authsite.oidc.models import UsedCode
from tests.base import BrowserClient
from tests.oidc.base import CHALLENGE_ONLY, REDIRECT, TOKEN, OidcTestCase, pkce_pair, query_of
from tests.oidc.factories import make_client

AccessToken = get_access_token_model()


@override_settings(LOGIN_STAGES=CHALLENGE_ONLY)
class RedirectUriTests(OidcTestCase):
    def test_only_the_exact_registered_redirect_uri_is_used(self):
        self.sign_in_for_code()  # signed in: a bad request must still never redirect anywhere else
        for uri in (
            "https://app.example.com/callback/",
            "https://app.example.com/callback?x=1",
            "https://app.example.com/callback/../evil",
            "https://app.example.com/callbackx",
            "https://evil.app.example.com/callback",
            "https://app.example.com.evil.com/callback",
            "http://app.example.com/callback",
            "https://evil.example/",
            "//evil.example/callback",
        ):
            with self.subTest(uri=uri):
                response = self.browser.get(self.authorize_url(redirect_uri=uri))
                self.assertEqual(response.status_code, 400)
                self.assertFalse(response.has_header("Location"))

    def test_an_unknown_client_gets_an_error_page_not_a_redirect(self):
        response = self.browser.get(self.authorize_url(client_id="nobody"))
        self.assertEqual(response.status_code, 400)
        self.assertFalse(response.has_header("Location"))


@override_settings(LOGIN_STAGES=CHALLENGE_ONLY)
class CodeTests(OidcTestCase):
    def test_a_replayed_code_is_refused_and_revokes_what_the_first_use_issued(self):
        code = self.sign_in_for_code()
        tokens = self.tokens(code)
        self.assertEqual(self.userinfo(tokens["access_token"])["email"], self.user.email)
        replay = self.exchange(code)
        self.assertEqual(replay.status_code, 400)
        self.assertEqual(replay.json()["error"], "invalid_grant")
        self.assertEqual(
            BrowserClient().get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").status_code, 401
        )
        refresh = BrowserClient().post(
            TOKEN,
            {
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": self.app.client_id,
                "client_secret": self.secret,
            },
        )
        self.assertEqual(refresh.status_code, 400)
        self.assertEqual(UsedCode.objects.count(), 1)

    def test_a_code_is_bound_to_its_client(self):
        other, other_secret = make_client(name="Other", redirect_uris=[REDIRECT])
        code = self.sign_in_for_code()
        response = self.exchange(code, app=other, secret=other_secret)
        self.assertEqual(response.status_code, 400)
        self.assertEqual(response.json()["error"], "invalid_grant")

    def test_the_redirect_uri_of_the_exchange_must_match(self):
        code = self.sign_in_for_code()
        response = self.exchange(code, redirect_uri="https://app.example.com/other")
        self.assertEqual(response.status_code, 400)


@override_settings(LOGIN_STAGES=CHALLENGE_ONLY)
class PkceTests(OidcTestCase):
    def test_an_authorization_request_without_pkce_is_refused_at_the_client(self):
        self.sign_in_for_code()
        for extra in (
            {"code_challenge": None, "code_challenge_method": None},
            {"code_challenge_method": "plain"},
            {"code_challenge_method": None},
        ):
            with self.subTest(extra=extra):
                response = self.browser.get(self.authorize_url(**extra))
                self.assertEqual(response.status_code, 302)
                query = query_of(response["Location"])
                self.assertTrue(response["Location"].startswith(REDIRECT))
                self.assertEqual(query["error"], "invalid_request")
                self.assertNotIn("code", query)

    def test_a_wrong_or_missing_verifier_gets_no_tokens(self):
        for verifier in (pkce_pair()[0], ""):
            with self.subTest(verifier=verifier):
                code = self.sign_in_for_code()
                response = self.exchange(code, verifier=verifier)
                self.assertEqual(response.status_code, 400)
                self.assertNotIn("access_token", response.json())


@override_settings(LOGIN_STAGES=CHALLENGE_ONLY)
class StateAndNonceTests(OidcTestCase):
    def test_state_and_nonce_come_back_unchanged(self):
        state, nonce = "s-" + "x" * 40, "n-" + "y" * 40
        self.sign_in_for_code()
        self.verifier, challenge = pkce_pair()
        response = self.browser.get(self.authorize_url(challenge=challenge, state=state, nonce=nonce))
        query = query_of(response["Location"])
        self.assertEqual(query["state"], state)
        self.assertEqual(query["iss"], "http://testserver")
        claims = self.id_claims(self.tokens(query["code"])["id_token"])
        self.assertEqual(claims["nonce"], nonce)


@override_settings(LOGIN_STAGES=CHALLENGE_ONLY)
class ClientAuthenticationTests(OidcTestCase):
    def test_a_public_client_exchanges_with_pkce_alone(self):
        public, secret = make_client(name="SPA", redirect_uris=[REDIRECT], public=True)
        self.assertIsNone(secret)
        code = self.sign_in_for_code(client_id=public.client_id)
        self.assertIn("id_token", self.tokens(code, app=public))

    def test_a_public_client_sending_a_secret_is_refused(self):
        public, _ = make_client(name="SPA", redirect_uris=[REDIRECT], public=True)
        code = self.sign_in_for_code(client_id=public.client_id)
        response = self.exchange(code, app=public, secret="guessed-secret")
        self.assertEqual(response.status_code, 401)
        self.assertEqual(response.json()["error"], "invalid_client")

    def test_a_confidential_client_needs_its_secret(self):
        code = self.sign_in_for_code()
        for secret in ("wrong", ""):
            with self.subTest(secret=secret):
                data = {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT,
                    "code_verifier": self.verifier,
                    "client_id": self.app.client_id,
                    "client_secret": secret,
                }
                response = BrowserClient().post(TOKEN, data)
                self.assertEqual(response.status_code, 401)
        basic = base64.b64encode(f"{self.app.client_id}:{self.secret}".encode()).decode()
        response = BrowserClient().post(
            TOKEN,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": self.verifier,
            },
            HTTP_AUTHORIZATION=f"Basic {basic}",
        )
        self.assertEqual(response.status_code, 200, response.content)

    def test_the_secret_is_stored_hashed(self):
        self.app.refresh_from_db()
        self.assertNotEqual(self.app.client_secret, self.secret)
        self.assertTrue(self.app.client_secret.startswith(("pbkdf2_", "argon2", "md5")))


@override_settings(LOGIN_STAGES=CHALLENGE_ONLY, OIDC_TOKEN_THROTTLE={"ip": 1000, "client": 5, "window": 900})
class TokenThrottleTests(OidcTestCase):
    def test_guessing_secrets_or_codes_is_throttled_per_client(self):
        for _ in range(5):
            response = BrowserClient().post(
                TOKEN,
                {
                    "grant_type": "authorization_code",
                    "code": "guess",
                    "redirect_uri": REDIRECT,
                    "code_verifier": "x" * 43,
                    "client_id": self.app.client_id,
                    "client_secret": "guess",
                },
            )
            self.assertEqual(response.status_code, 401)
        code = self.sign_in_for_code()
        response = self.exchange(code)  # the right secret and code: refused while the window lasts
        self.assertEqual(response.status_code, 429)
        self.assertEqual(response["Retry-After"], "900")
        cache.clear()
        self.assertEqual(self.exchange(code).status_code, 200)

    def test_when_the_cache_is_down_the_token_endpoint_fails_closed(self):
        code = self.sign_in_for_code()
        from unittest import mock

        with mock.patch("authsite.oidc.throttle.cache.get_many", side_effect=ConnectionError("down")):
            response = self.exchange(code)
        self.assertEqual(response.status_code, 503)
        self.assertNotIn("access_token", response.json())


@override_settings(LOGIN_STAGES=CHALLENGE_ONLY)
class GrantTypeTests(OidcTestCase):
    def test_no_implicit_flow_and_no_password_grant(self):
        self.sign_in_for_code()
        for response_type in ("token", "id_token", "code id_token", "id_token token"):
            with self.subTest(response_type=response_type):
                response = self.browser.get(self.authorize_url(response_type=response_type))
                if response.status_code == 302:
                    self.assertNotIn("access_token", response["Location"])
                    self.assertNotIn("id_token=", response["Location"])
                    self.assertIn("error=", response["Location"])
                else:
                    self.assertEqual(response.status_code, 400)
        response = BrowserClient().post(
            TOKEN,
            {
                "grant_type": "password",
                "username": self.user.email,
                "password": "correct horse battery staple",
                "client_id": self.app.client_id,
                "client_secret": self.secret,
            },
        )
        self.assertIn(response.status_code, (400, 401))
        self.assertNotIn("access_token", response.json())
