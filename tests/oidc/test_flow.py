"""The authorization code flow end to end on the real endpoints: claims that tell the truth."""

from __future__ import annotations

from django.test import override_settings

from authsite.oidc.models import Subject
from tests.base import BrowserClient
from tests.oidc.base import CHALLENGE_ONLY, ISSUER, TOKEN, OidcTestCase


@override_settings(LOGIN_STAGES=CHALLENGE_ONLY)
class CodeFlowTests(OidcTestCase):
    def test_an_anonymous_user_signs_in_and_the_app_gets_truthful_tokens(self):
        code = self.sign_in_for_code()
        tokens = self.tokens(code)
        self.assertEqual(tokens["token_type"], "Bearer")
        claims = self.id_claims(tokens["id_token"])
        self.assertEqual(claims["iss"], ISSUER)
        self.assertEqual(claims["aud"], self.app.client_id)
        self.assertEqual(claims["nonce"], "nonce-456")
        self.assertEqual(claims["amr"], ["pwd", "otp", "mfa"])
        self.assertEqual(claims["acr"], "mfa")
        self.assertEqual(claims["email"], self.user.email)
        self.assertIs(claims["email_verified"], True)
        self.assertIsInstance(claims["auth_time"], int)
        self.assertLessEqual(claims["auth_time"], claims["iat"])
        self.assertTrue(claims["sid"])

    def test_sub_is_stable_and_not_the_database_id(self):
        first = self.id_claims(self.tokens(self.sign_in_for_code())["id_token"])
        second = self.id_claims(self.tokens(self.sign_in_for_code())["id_token"])
        self.assertEqual(first["sub"], second["sub"])
        self.assertNotEqual(first["sub"], str(self.user.pk))
        self.assertEqual(first["sub"], str(Subject.objects.get(user=self.user).sub))

    def test_userinfo_answers_with_the_same_subject_and_the_email(self):
        tokens = self.tokens(self.sign_in_for_code())
        claims = self.id_claims(tokens["id_token"])
        info = self.userinfo(tokens["access_token"])
        self.assertEqual(info["sub"], claims["sub"])
        self.assertEqual(info["email"], self.user.email)
        self.assertIs(info["email_verified"], True)

    def test_without_the_email_scope_there_is_no_email(self):
        tokens = self.tokens(self.sign_in_for_code(scope="openid"))
        claims = self.id_claims(tokens["id_token"])
        self.assertNotIn("email", claims)
        self.assertNotIn("email", self.userinfo(tokens["access_token"]))

    def test_a_password_only_sign_in_says_so(self):
        self.device.delete()
        claims = self.id_claims(self.tokens(self.sign_in_for_code())["id_token"])
        self.assertEqual(claims["amr"], ["pwd"])
        self.assertEqual(claims["acr"], "password")


@override_settings(LOGIN_STAGES=CHALLENGE_ONLY)
class RefreshAndRevocationTests(OidcTestCase):
    def refresh(self, refresh_token: str):
        return BrowserClient().post(
            TOKEN,
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": self.app.client_id,
                "client_secret": self.secret,
            },
        )

    def test_a_refresh_gives_a_new_access_token_and_no_new_id_token(self):
        tokens = self.tokens(self.sign_in_for_code())
        response = self.refresh(tokens["refresh_token"])
        self.assertEqual(response.status_code, 200, response.content)
        renewed = response.json()
        self.assertNotEqual(renewed["access_token"], tokens["access_token"])
        # A refreshed ID token would have to repeat the sign-in's auth_time/amr/acr: none is issued.
        self.assertNotIn("id_token", renewed)
        self.assertEqual(self.userinfo(renewed["access_token"])["email"], self.user.email)
        # Rotation: the old refresh token is spent.
        self.assertEqual(self.refresh(tokens["refresh_token"]).status_code, 400)

    def test_revocation_ends_the_access_token(self):
        tokens = self.tokens(self.sign_in_for_code())
        response = BrowserClient().post(
            "/o/revoke_token/",
            {"token": tokens["access_token"], "client_id": self.app.client_id, "client_secret": self.secret},
        )
        self.assertEqual(response.status_code, 200)
        gone = BrowserClient().get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
        self.assertEqual(gone.status_code, 401)
