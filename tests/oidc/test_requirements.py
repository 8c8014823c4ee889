"""What the application asks (acr_values, max_age, prompt) and the client's policy: met, or an
honest error, never a weaker token; step-up asks only for what is missing."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

from django.contrib.auth import SESSION_KEY
from django.test import override_settings
from django.utils import timezone

from factors.models import WebAuthnCredential
from risk.models import LoginEvent
from tests.base import BrowserClient
from tests.factors.test_webauthn import passkey_registered
from tests.helpers import SHIPPED_STAGES, WEBAUTHN_SIGN_IN, force_login_verified, make_user, totp_device
from tests.oidc.base import CHALLENGE_ONLY, REDIRECT, OidcTestCase, query_of
from tests.oidc.factories import make_client


def error_of(response) -> str:
    assert response.status_code == 302, response.status_code
    assert response["Location"].startswith(REDIRECT), response["Location"]
    query = query_of(response["Location"])
    assert "code" not in query, query
    assert query["state"] == "state-123", query
    return query["error"]


@override_settings(**{**WEBAUTHN_SIGN_IN, "LOGIN_STAGES": CHALLENGE_ONLY})
class PhishingResistantTests(OidcTestCase):
    def test_a_user_with_only_an_app_is_told_to_add_a_passkey_and_gets_no_code(self):
        first = self.browser.get(self.authorize_url(acr_values="phr"))
        response = self.sign_in(query_of(first["Location"])["next"], with_factor=False)
        self.assertEqual(response["Location"], "/login/")
        page = self.browser.get("/login/")
        self.assertContains(page, "Example App needs a sign-in with a passkey or security key")
        self.assertContains(page, "add a passkey on your Security page")
        self.assertNotIn(SESSION_KEY, self.browser.session)

    def test_the_client_policy_applies_when_the_app_asks_for_less(self):
        strict, _ = make_client(name="Bank", redirect_uris=[REDIRECT], policy="phishing_resistant")
        first = self.browser.get(self.authorize_url(strict, acr_values="password"))
        response = self.sign_in(query_of(first["Location"])["next"], with_factor=False)
        self.assertEqual(response["Location"], "/login/")
        self.assertContains(self.browser.get("/login/"), "Bank needs a sign-in with a passkey")

    def test_a_passkey_sign_in_reaches_phr_with_hwk_and_user(self):
        authenticator = passkey_registered(self.user)
        first = self.browser.get(self.authorize_url(acr_values="phr"))
        next_url = query_of(first["Location"])["next"]
        options = self.browser.post("/login/passkey/begin/").json()
        answer = self.browser.post(
            "/login/passkey/complete/",
            json.dumps({"credential": authenticator.assertion(options), "next": next_url}),
            content_type="application/json",
        )
        self.assertEqual(answer.status_code, 200, answer.content)
        code = self.code_from(self.browser.get(answer.json()["redirect"]))
        claims = self.id_claims(self.tokens(code)["id_token"])
        self.assertEqual(claims["acr"], "phr")
        self.assertEqual(claims["amr"], ["hwk", "user", "mfa"])

    def test_step_up_from_an_app_code_to_a_passkey_asks_only_the_passkey(self):
        authenticator = passkey_registered(self.user)
        self.sign_in_for_code()  # password + app: "mfa"
        response = self.browser.get(self.authorize_url(acr_values="phr"))
        self.assertEqual(response["Location"], "/login/verify/", "the factor only, not the password again")
        page = self.browser.get("/login/verify/")
        self.assertContains(page, "Example App asks for a passkey or security key")
        refused = self.pass_challenge()  # an app code is not enough here
        self.assertNotEqual(refused.get("Location", ""), REDIRECT)
        options = self.browser.post("/login/verify/webauthn/begin/").json()
        answer = self.browser.post(
            "/login/verify/webauthn/complete/",
            json.dumps(authenticator.assertion(options)),
            content_type="application/json",
        )
        self.assertEqual(answer.status_code, 200, answer.content)
        code = self.code_from(self.browser.get(answer.json()["redirect"]))
        claims = self.id_claims(self.tokens(code)["id_token"])
        self.assertEqual(claims["acr"], "phr")
        self.assertEqual(claims["amr"], ["pwd", "otp", "hwk", "user", "mfa"])
        self.assertEqual(WebAuthnCredential.objects.filter(user=self.user).count(), 1)


@override_settings(LOGIN_STAGES=CHALLENGE_ONLY)
class StepUpTests(OidcTestCase):
    def test_a_password_session_steps_up_with_the_factor_alone(self):
        self.device.delete()
        before = self.id_claims(self.tokens(self.sign_in_for_code())["id_token"])
        self.assertEqual(before["acr"], "password")
        self.device, self.key = totp_device(self.user)
        response = self.browser.get(self.authorize_url(acr_values="mfa"))
        self.assertEqual(response["Location"], "/login/verify/")
        self.assertContains(self.browser.get("/login/verify/"), "Example App asks for a second step")
        done = self.pass_challenge()
        code = self.code_from(self.browser.get(done["Location"]))
        claims = self.id_claims(self.tokens(code)["id_token"])
        self.assertEqual((claims["acr"], claims["amr"]), ("mfa", ["pwd", "otp", "mfa"]))
        self.assertEqual(claims["sub"], before["sub"])

    def test_a_step_up_that_cannot_reach_the_level_is_an_honest_error(self):
        self.device.delete()
        self.sign_in_for_code()
        with override_settings(LOGIN_STAGES=[]):  # nothing left that could ask for a factor
            response = self.browser.get(self.authorize_url(acr_values="mfa"))
            while response.status_code == 302 and not response["Location"].startswith(REDIRECT):
                response = self.browser.get(response["Location"])
        self.assertEqual(error_of(response), "unmet_authentication_requirements")

    def test_mfa_always_client_asks_a_password_session_for_the_factor(self):
        strict, _ = make_client(name="Payroll", redirect_uris=[REDIRECT], policy="mfa")
        self.device.delete()
        self.sign_in_for_code()
        self.device, self.key = totp_device(self.user)
        response = self.browser.get(self.authorize_url(strict))
        self.assertEqual(response["Location"], "/login/verify/")


@override_settings(LOGIN_STAGES=CHALLENGE_ONLY)
class PromptTests(OidcTestCase):
    def test_prompt_none_without_a_session_is_login_required(self):
        self.assertEqual(error_of(self.browser.get(self.authorize_url(prompt="none"))), "login_required")

    def test_prompt_none_below_the_level_is_interaction_required(self):
        self.device.delete()
        self.sign_in_for_code()
        response = self.browser.get(self.authorize_url(prompt="none", acr_values="mfa"))
        self.assertEqual(error_of(response), "interaction_required")

    def test_prompt_none_without_consent_is_consent_required(self):
        third, _ = make_client(name="Partner", redirect_uris=[REDIRECT], first_party=False)
        self.sign_in_for_code()
        self.assertEqual(error_of(self.browser.get(self.authorize_url(third, prompt="none"))), "consent_required")

    def test_prompt_none_with_a_good_session_gives_a_code_without_a_page(self):
        self.sign_in_for_code()
        self.code_from(self.browser.get(self.authorize_url(prompt="none")))

    def test_prompt_login_asks_for_the_password_again_and_updates_auth_time(self):
        first = self.id_claims(self.tokens(self.sign_in_for_code())["id_token"])
        later = timezone.now() + timedelta(minutes=5)
        with mock.patch("authsite.core.clock.now", return_value=later):
            response = self.browser.get(self.authorize_url(prompt="login"))
            self.assertTrue(response["Location"].startswith("/login/?next="), response["Location"])
            next_url = query_of(response["Location"])["next"]
            self.assertNotIn("prompt", next_url)
            self.assertEqual(self.browser.get(response["Location"]).status_code, 200, "the form, though signed in")
            done = self.sign_in(next_url)
            code = self.code_from(self.browser.get(done["Location"]))
        second = self.id_claims(self.tokens(code)["id_token"])
        self.assertGreaterEqual(second["auth_time"] - first["auth_time"], 300)

    def test_max_age_exceeded_needs_a_new_sign_in_and_within_it_does_not(self):
        self.sign_in_for_code()
        later = timezone.now() + timedelta(minutes=10)
        with mock.patch("authsite.core.clock.now", return_value=later):
            self.code_from(self.browser.get(self.authorize_url(max_age="3600")))
            response = self.browser.get(self.authorize_url(max_age="60"))
            self.assertTrue(response["Location"].startswith("/login/?next="), response["Location"])

    def test_a_malformed_max_age_is_a_clear_error(self):
        for value in ("-1", "soon", "1" * 12):
            with self.subTest(value=value):
                self.assertEqual(error_of(self.browser.get(self.authorize_url(max_age=value))), "invalid_request")


@override_settings(LOGIN_STAGES=SHIPPED_STAGES)
class LoginEventTests(OidcTestCase):
    def test_the_login_event_records_the_app(self):
        code = self.sign_in_for_code()
        self.tokens(code)
        event = LoginEvent.objects.get(user=self.user)
        self.assertEqual((event.app, event.app_id), ("Example App", self.app.client_id))
        self.assertEqual(event.outcome, LoginEvent.Outcome.SUCCESS)
        activity = self.browser.get("/account/activity/")
        self.assertContains(activity, "To sign in to <strong>Example App</strong>", html=False)
        staff = BrowserClient()
        force_login_verified(staff, make_user("admin@example.com", is_staff=True, is_superuser=True))
        listing = staff.get("/admin/risk/loginevent/")
        self.assertContains(listing, "Example App")
        self.assertContains(staff.get(f"/admin/risk/loginevent/?app={event.app}"), "Example App")

    def test_a_sign_in_to_the_site_itself_records_no_app(self):
        self.sign_in("")
        self.assertEqual(LoginEvent.objects.get(user=self.user).app, "")
