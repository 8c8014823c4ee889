"""WebAuthn ceremonies with a software authenticator: state, challenge, UV, sign counter."""

from __future__ import annotations

import json

from django.contrib.auth import SESSION_KEY
from django.test import override_settings
from fido2.utils import websafe_decode

from factors import webauthn
from factors.models import WebAuthnCredential
from factors.registry import Requirement, satisfies
from factors.services import user_factors
from factors.webauthn import WebAuthnError
from risk.device import COOKIE_NAME as DEVICE_COOKIE
from risk.models import LoginEvent, TrustedDevice
from risk.trust import COOKIE_NAME as TRUSTED_COOKIE
from tests.base import TestCase
from tests.factors.base import FactorsTestMixin
from tests.factors.softauthn import SoftAuthenticator
from tests.helpers import PASSWORD, WEBAUTHN_SIGN_IN, CacheClearingTestCase, make_user, unique_email


def session_round_trip(value: dict) -> dict:
    """Store and load like a JSON session (and a browser, for options) would."""
    return json.loads(json.dumps(value))


def passkey_registered(user, *, name: str = "Key") -> SoftAuthenticator:
    """Register a passkey of ``user`` on a new soft authenticator; return the authenticator."""
    authenticator = SoftAuthenticator()
    options, state = webauthn.register_begin(user=user, passkey=True)
    response = authenticator.register(session_round_trip(options))
    webauthn.register_complete(user=user, state=session_round_trip(state), response=response, name=name)
    return authenticator


class WebAuthnTestCase(FactorsTestMixin, TestCase):
    def setUp(self):
        super().setUp()
        self.user = make_user(unique_email())
        self.authenticator = SoftAuthenticator()

    def register(self, *, passkey: bool = True, uv: bool = True, user=None, authenticator=None) -> WebAuthnCredential:
        user = user or self.user
        authenticator = authenticator or self.authenticator
        options, state = webauthn.register_begin(user=user, passkey=passkey)
        options, state = session_round_trip(options), session_round_trip(state)
        response = authenticator.register(options, uv=uv)
        return webauthn.register_complete(user=user, state=state, response=response, name="My key")

    def begin_auth(self, user=None):
        options, state = webauthn.authenticate_begin(user=user)
        return session_round_trip(options), session_round_trip(state)


class RegistrationTests(WebAuthnTestCase):
    def test_passkey_registration_stores_the_credential(self):
        credential = self.register()
        self.assertEqual(bytes(credential.credential_id), self.authenticator.credential_id)
        self.assertTrue(credential.discoverable)
        self.assertTrue(credential.user_verified_at_registration)
        self.assertEqual(credential.transports, ["usb", "nfc"])
        self.assertEqual(credential.sign_count, 0)
        self.assertTrue(credential.confirmed)
        self.assertEqual(credential.name, "My key")
        self.assertEqual([d.factor_kind for d in user_factors(self.user)], ["webauthn"])
        self.assertTrue(satisfies(credential, Requirement.PHISHING_RESISTANT))

    def test_options_challenge_user_handle_and_requirements(self):
        options, _state = webauthn.register_begin(user=self.user, passkey=True)
        public_key = session_round_trip(options)["publicKey"]
        self.assertGreaterEqual(len(websafe_decode(public_key["challenge"])), 32)
        handle = websafe_decode(public_key["user"]["id"])
        self.assertEqual(len(handle), 64)
        self.assertEqual(handle, webauthn.user_handle(self.user))
        self.assertNotEqual(webauthn.user_handle(make_user(unique_email())), handle)
        self.assertEqual(public_key["authenticatorSelection"]["residentKey"], "required")
        self.assertEqual(public_key["authenticatorSelection"]["userVerification"], "required")
        second, _ = webauthn.register_begin(user=self.user, passkey=True)
        self.assertNotEqual(second["publicKey"]["challenge"], public_key["challenge"])
        # The handle is stable across ceremonies.
        self.assertEqual(websafe_decode(session_round_trip(second)["publicKey"]["user"]["id"]), handle)

    def test_existing_credentials_are_excluded(self):
        self.register()
        options, _ = webauthn.register_begin(user=self.user, passkey=False)
        excluded = session_round_trip(options)["publicKey"]["excludeCredentials"]
        self.assertEqual([websafe_decode(c["id"]) for c in excluded], [self.authenticator.credential_id])

    def test_state_is_single_use(self):
        options, state = webauthn.register_begin(user=self.user, passkey=True)
        response = self.authenticator.register(session_round_trip(options))
        webauthn.register_complete(user=self.user, state=state, response=response, name="k")
        other = SoftAuthenticator()
        with self.assertRaisesMessage(WebAuthnError, "challenge already used"):
            webauthn.register_complete(
                user=self.user, state=state, response=other.register(session_round_trip(options)), name="k"
            )
        self.assertEqual(WebAuthnCredential.objects.count(), 1)

    def test_passkey_without_user_verification_is_refused(self):
        with self.assertRaises(WebAuthnError):
            self.register(passkey=True, uv=False)

    def test_security_key_without_user_verification_is_accepted(self):
        credential = self.register(passkey=False, uv=False)
        self.assertFalse(credential.user_verified_at_registration)
        self.assertFalse(credential.discoverable)

    def test_wrong_origin_refused(self):
        options, state = webauthn.register_begin(user=self.user, passkey=True)
        response = self.authenticator.register(session_round_trip(options), origin="https://evil.example")
        with self.assertRaises(WebAuthnError):
            webauthn.register_complete(user=self.user, state=state, response=response, name="k")

    @override_settings(FACTORS_WEBAUTHN_ORIGINS=["https://login.example.com"], FACTORS_WEBAUTHN_RP_ID="example.com")
    def test_only_configured_origins_are_allowed(self):
        good = SoftAuthenticator(rp_id="example.com", origin="https://login.example.com")
        self.register(authenticator=good)
        # A sibling subdomain of the RP ID is not listed, so it is refused.
        bad = SoftAuthenticator(rp_id="example.com", origin="https://shop.example.com")
        with self.assertRaises(WebAuthnError):
            self.register(authenticator=bad)

    def test_state_of_another_user_refused(self):
        options, state = webauthn.register_begin(user=self.user, passkey=True)
        response = self.authenticator.register(session_round_trip(options))
        with self.assertRaisesMessage(WebAuthnError, "another user"):
            webauthn.register_complete(user=make_user(unique_email()), state=state, response=response, name="k")

    def test_state_expires(self):
        options, state = webauthn.register_begin(user=self.user, passkey=True)
        response = self.authenticator.register(session_round_trip(options))
        self.clock.advance(301)
        with self.assertRaisesMessage(WebAuthnError, "expired"):
            webauthn.register_complete(user=self.user, state=state, response=response, name="k")

    def test_missing_or_foreign_state_refused(self):
        _options, auth_state = self.begin_auth(user=None)
        for state in (None, {}, auth_state):
            with self.subTest(state=state), self.assertRaises(WebAuthnError):
                webauthn.register_complete(user=self.user, state=state, response={}, name="k")

    def test_same_credential_cannot_be_registered_twice(self):
        self.register()
        with self.assertRaisesMessage(WebAuthnError, "already registered"):
            self.register(user=make_user(unique_email()))


class AuthenticationTests(WebAuthnTestCase):
    def test_usernameless_passkey_with_uv_is_two_factors(self):
        credential = self.register()
        options, state = self.begin_auth()
        self.assertEqual(options["publicKey"]["userVerification"], "required")
        self.assertNotIn("allowCredentials", options["publicKey"])
        result = webauthn.authenticate_complete(state=state, response=self.authenticator.assertion(options))
        self.assertEqual(result.user, self.user)
        self.assertTrue(result.user_verified)
        self.assertEqual(result.factor_count, 2)
        credential.refresh_from_db()
        self.assertEqual(credential.sign_count, 1)
        self.assertEqual(credential.last_used_at, self.clock())

    def test_usernameless_without_uv_is_refused(self):
        self.register()
        options, state = self.begin_auth()
        with self.assertRaises(WebAuthnError):
            webauthn.authenticate_complete(state=state, response=self.authenticator.assertion(options, uv=False))

    def test_second_factor_security_key_without_uv_is_one_factor(self):
        self.register(passkey=False, uv=False)
        options, state = self.begin_auth(user=self.user)
        allowed = [websafe_decode(c["id"]) for c in options["publicKey"]["allowCredentials"]]
        self.assertEqual(allowed, [self.authenticator.credential_id])
        result = webauthn.authenticate_complete(
            state=state, response=self.authenticator.assertion(options, uv=False), user=self.user
        )
        self.assertFalse(result.user_verified)
        self.assertEqual(result.factor_count, 1)

    def test_replayed_assertion_fails(self):
        self.register()
        options, state = self.begin_auth()
        response = self.authenticator.assertion(options)
        webauthn.authenticate_complete(state=state, response=response)
        with self.assertRaisesMessage(WebAuthnError, "challenge already used"):
            webauthn.authenticate_complete(state=state, response=response)

    def test_non_increasing_sign_count_is_refused_and_logged(self):
        credential = self.register()
        options, state = self.begin_auth()
        webauthn.authenticate_complete(state=state, response=self.authenticator.assertion(options, counter_step=5))
        # A clone that still has the old counter value signs a fresh challenge.
        for step in (0, -2):
            with self.subTest(step=step):
                options, state = self.begin_auth()
                response = self.authenticator.assertion(options, counter_step=step)
                with (
                    self.assertLogs("factors.webauthn", "WARNING") as logs,
                    self.assertRaisesMessage(WebAuthnError, "sign count"),
                ):
                    webauthn.authenticate_complete(state=state, response=response)
                self.assertIn("sign count did not increase", logs.output[0])
        credential.refresh_from_db()
        self.assertEqual(credential.sign_count, 5)
        # Going up again is accepted.
        options, state = self.begin_auth()
        self.authenticator.counter = 5
        webauthn.authenticate_complete(state=state, response=self.authenticator.assertion(options))
        credential.refresh_from_db()
        self.assertEqual(credential.sign_count, 6)

    def test_authenticator_without_a_counter_stays_at_zero(self):
        credential = self.register()
        for _ in range(2):
            options, state = self.begin_auth()
            webauthn.authenticate_complete(state=state, response=self.authenticator.assertion(options, counter_step=0))
        credential.refresh_from_db()
        self.assertEqual(credential.sign_count, 0)

    def test_bad_signature_refused(self):
        self.register()
        options, state = self.begin_auth()
        impostor = SoftAuthenticator()
        impostor.credential_id = self.authenticator.credential_id
        impostor.user_handle = self.authenticator.user_handle
        forged = impostor.assertion(options)
        with self.assertRaisesMessage(WebAuthnError, "assertion rejected"):
            webauthn.authenticate_complete(state=state, response=forged)

    def test_credential_of_another_user_refused_in_second_factor_flow(self):
        other = make_user(unique_email())
        other_key = SoftAuthenticator()
        self.register(user=other, authenticator=other_key, passkey=False)
        self.register(passkey=False)
        options, state = self.begin_auth(user=self.user)
        with self.assertRaisesMessage(WebAuthnError, "another user"):
            webauthn.authenticate_complete(state=state, response=other_key.assertion(options), user=self.user)

    def test_usernameless_flow_needs_a_passkey(self):
        self.register(passkey=False, uv=True)
        options, state = self.begin_auth()
        with self.assertRaisesMessage(WebAuthnError, "not a passkey"):
            webauthn.authenticate_complete(state=state, response=self.authenticator.assertion(options))

    def test_user_handle_must_match_the_credential(self):
        self.register()
        options, state = self.begin_auth()
        self.authenticator.user_handle = b"\x01" * 64
        with self.assertRaisesMessage(WebAuthnError, "user handle"):
            webauthn.authenticate_complete(state=state, response=self.authenticator.assertion(options))

    def test_unknown_credential_and_user_without_credentials(self):
        options, state = self.begin_auth()
        with self.assertRaisesMessage(WebAuthnError, "unknown credential"):
            webauthn.authenticate_complete(state=state, response=SoftAuthenticator().assertion(options))
        with self.assertRaises(WebAuthnError):
            webauthn.authenticate_begin(user=make_user(unique_email()))


@override_settings(**WEBAUTHN_SIGN_IN)
class PasskeyUserTestCase(CacheClearingTestCase):
    """A user with a passkey on a soft authenticator, signing in with it through the views."""

    def setUp(self) -> None:
        super().setUp()
        self.user = make_user("kim@example.com")
        self.authenticator = passkey_registered(self.user)

    def passkey_sign_in(self):
        """Sign in with the passkey ("Sign in with a passkey"); return the final JSON answer."""
        options = self.client.post("/login/passkey/begin/").json()
        answer = self.client.post(
            "/login/passkey/complete/",
            json.dumps({"credential": self.authenticator.assertion(options)}),
            content_type="application/json",
        )
        self.assertEqual(answer.status_code, 200, answer.content)
        return answer


class WebAuthnSignInCookieTests(PasskeyUserTestCase):
    """A sign-in finished by a WebAuthn ceremony answers in JSON: it must keep the login's cookies."""

    def test_security_key_challenge_keeps_the_device_and_remember_cookies(self):
        password = self.client.post("/login/", {"email": self.user.email, "password": PASSWORD})
        self.assertRedirects(password, "/login/verify/", fetch_redirect_response=False)
        options = self.client.post("/login/verify/webauthn/begin/").json()
        answer = self.client.post(
            "/login/verify/webauthn/complete/",
            json.dumps({**self.authenticator.assertion(options), "remember": True}),
            content_type="application/json",
        )
        self.assertEqual(answer.status_code, 200, answer.content)
        self.assertEqual(self.client.session[SESSION_KEY], str(self.user.pk))
        self.assertIn(DEVICE_COOKIE, answer.cookies, "the device cookie set at finish reaches the browser")
        self.assertIn(TRUSTED_COOKIE, answer.cookies, "so does the remembered-device cookie asked for")
        self.assertEqual(TrustedDevice.objects.filter(user=self.user).count(), 1)

    def test_passkey_sign_in_keeps_the_device_cookie(self):
        answer = self.passkey_sign_in()
        self.assertEqual(self.client.session[SESSION_KEY], str(self.user.pk))
        self.assertIn(DEVICE_COOKIE, answer.cookies)
        # The activity page can say how the sign-in was confirmed.
        self.assertEqual(LoginEvent.objects.get(user=self.user).factor, "webauthn")
