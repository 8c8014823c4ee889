"""Fuzzing every public form and JSON endpoint: never a 500, never half-written state.

Each example runs in its own rolled-back transaction (hypothesis' Django TestCase); the accounts
come from setUpTestData. Examples are derandomized so a failure reproduces in CI; shrinking
prints the smallest failing input.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.test import override_settings
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from authsite.accounts.models import User
from authsite.accounts.reauth import SESSION_REAUTH_AT
from authsite.core import clock
from factors.models import SMSDevice, TOTPDevice, WebAuthnCredential
from factors.registry import Strength
from factors.sms.backends.locmem import outbox as sms_outbox
from factors.stepup import factor_reauth_mark
from tests.base import BrowserClient as Client
from tests.helpers import PASSWORD, force_login_verified, make_user, totp_device
from tests.security.base import CHALLENGE

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NASTY = [
    "",
    " ",
    "\x00",
    "\x00\x01\x1b[31m\x7f",
    "\r\nSet-Cookie: pwned=1",
    "A" * 100_000,
    "é" * 5_000,
    "😀" * 1_000,
    "\u202e\u200b\ufeff",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../../etc/passwd",
    "%00%0d%0a",
    "+44 909 879 0000",
    "+882 16 123456",
    "+47 912 34 567",
    "alice@example.com",
    "-1",
    "1e309",
    "[]",
    "{}",
    "\u00b2",  # a digit to str.isdigit(), not to int()
    "\uff19",  # a digit to int() too
    "9" * 5_000,  # past int()'s limit on digits
    "[" * 30_000 + "]" * 30_000,  # JSON nested past the recursion limit, under the size cap
]
scalar = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Zl", "So", "Lo", "Mn"]), max_size=30),
    st.integers().map(str),
)
value = st.one_of(scalar, st.lists(scalar, max_size=3))  # a list posts the field several times


def form(*fields: str):
    """A dict over the real field names (each maybe missing) plus a stray one, with nasty values."""
    return st.dictionaries(st.sampled_from([*fields, "next", "zzz"]), value, max_size=len(fields) + 2)


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | scalar,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(scalar, children, max_size=4),
    max_leaves=20,
)
credential_like = st.fixed_dictionaries(
    {},
    optional={
        "id": json_value,
        "rawId": json_value,
        "type": st.sampled_from(["public-key", "", None]) | json_value,
        "response": st.dictionaries(
            st.sampled_from(["clientDataJSON", "authenticatorData", "signature", "userHandle", "attestationObject"]),
            json_value,
        ),
        "name": json_value,
        "next": json_value,
        "remember": json_value,
    },
)
json_body = st.one_of(json_value.map(json.dumps), credential_like.map(json.dumps), scalar)


def post(client: Client, path: str, data):
    response = client.post(path, data)
    assert response.status_code < 500, (path, response.status_code)
    return response


class AnonymousFormFuzzTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.user = make_user()

    @FUZZ
    @given(data=form("email", "password"))
    def test_login(self, data):
        cache.clear()
        client = Client()
        post(client, "/login/", data)
        self.assertNotIn(SESSION_KEY, client.session)

    @FUZZ
    @given(data=form("email", "password"))
    def test_signup(self, data):
        cache.clear()
        before = User.objects.count()
        response = post(Client(), "/signup/", data)
        if response.status_code != 302:
            self.assertEqual(User.objects.count(), before, "a refused signup creates no user")
        else:
            self.assertLessEqual(User.objects.count(), before + 1)
        self.assertTrue(User.objects.get(pk=self.user.pk).check_password(PASSWORD))

    @FUZZ
    @given(data=form("email"))
    def test_password_reset(self, data):
        cache.clear()
        post(Client(), "/password/reset/", data)

    @FUZZ
    @given(uid=scalar, token=scalar, data=form("new_password1", "new_password2"))
    def test_password_reset_confirm(self, uid, token, data):
        cache.clear()
        path = f"/password/reset/{quote(uid or 'x', safe='')}/{quote(token or 'x', safe='')}/"
        client = Client()
        response = client.get(path)
        self.assertLess(response.status_code, 500)
        post(client, path, data)
        self.assertTrue(User.objects.get(pk=self.user.pk).check_password(PASSWORD))

    @FUZZ
    @given(body=json_body)
    @example(body="[" * 30_000 + "]" * 30_000)
    def test_passkey_login_json(self, body):
        cache.clear()
        client = Client()
        client.post("/login/passkey/begin/")
        response = client.post("/login/passkey/complete/", body, content_type="application/json")
        self.assertLess(response.status_code, 500)
        self.assertNotIn(SESSION_KEY, client.session)

    @FUZZ
    @given(path=st.sampled_from(["/login/", "/signup/", "/password/reset/"]), body=json_body)
    def test_form_endpoints_given_json_bodies(self, path, body):
        cache.clear()
        before = User.objects.count()
        client = Client()
        response = client.post(path, body, content_type="application/json")
        self.assertLess(response.status_code, 500)
        self.assertEqual(User.objects.count(), before)
        self.assertNotIn(SESSION_KEY, client.session)


@override_settings(LOGIN_STAGES=["factors.stages.ChallengeStage"])
class ChallengeFuzzTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.user = make_user()
        cls.device, _ = totp_device(cls.user)

    def pending(self) -> Client:
        cache.clear()
        client = Client()
        client.post("/login/", {"email": self.user.email, "password": PASSWORD})
        return client

    @FUZZ
    @given(data=form("device", "action", "code", "remember"), real_device=st.booleans())
    def test_challenge_code_post(self, data, real_device):
        client = self.pending()
        if real_device:
            data["device"] = self.device.persistent_id
        post(client, CHALLENGE, data)
        self.assertNotIn(SESSION_KEY, client.session)

    @FUZZ
    @given(body=json_body)
    def test_challenge_webauthn_json(self, body):
        client = self.pending()
        client.post("/login/verify/webauthn/begin/")
        response = client.post("/login/verify/webauthn/complete/", body, content_type="application/json")
        self.assertLess(response.status_code, 500)
        self.assertNotIn(SESSION_KEY, client.session)


@override_settings(FACTORS_SMS_BACKEND="locmem")
class SignedInFuzzTests(TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        cls.user = make_user()
        cls.device, _ = totp_device(cls.user)

    def setUp(self) -> None:
        super().setUp()
        self.client = Client()
        force_login_verified(self.client, self.user)

    def fresh(self) -> None:
        """Empty counters and a fresh re-authentication mark for every example."""
        cache.clear()
        sms_outbox.clear()
        SMSDevice.objects.filter(user=self.user).delete()
        session = self.client.session
        session[SESSION_REAUTH_AT] = clock.timestamp()
        factor_reauth_mark(session, Strength.PHISHING_RESISTANT)
        session.save()

    @FUZZ
    @given(data=form("old_password", "new_password1", "new_password2"))
    def test_password_change(self, data):
        self.fresh()
        response = post(self.client, "/password/change/", data)
        if response.status_code != 302:
            self.assertTrue(User.objects.get(pk=self.user.pk).check_password(PASSWORD))

    @FUZZ
    @given(data=form("password"))
    def test_reauthenticate(self, data):
        self.fresh()
        post(self.client, "/account/reauthenticate/", data)

    @FUZZ
    @given(data=form("code"))
    def test_totp_confirm(self, data):
        self.fresh()
        confirmed = TOTPDevice.objects.filter(user=self.user, confirmed=True).count()
        self.client.post("/account/security/totp/")
        post(self.client, "/account/security/totp/confirm/", data)
        self.assertEqual(TOTPDevice.objects.filter(user=self.user, confirmed=True).count(), confirmed)

    @FUZZ
    @given(data=form("phone_number"))
    def test_sms_number(self, data):
        self.fresh()
        response = post(self.client, "/account/security/sms/", data)
        devices = SMSDevice.objects.filter(user=self.user)
        if response.status_code != 302:
            self.assertFalse(devices.exists(), "a refused number leaves no device")
            self.assertEqual(sms_outbox, [])
        for device in devices:
            self.assertFalse(device.confirmed)
            self.assertRegex(device.phone_number, r"^\+[1-9]\d{6,14}$")

    @FUZZ
    @given(data=form("device", "name"), real_device=st.booleans())
    def test_rename(self, data, real_device):
        self.fresh()
        if real_device:
            data["device"] = self.device.persistent_id
        post(self.client, "/account/security/rename/", data)
        name = TOTPDevice.objects.get(pk=self.device.pk).name
        self.assertTrue(0 < len(name) <= 64, repr(name))
        self.assertEqual(name, " ".join(name.split()), "names are stored trimmed")

    @FUZZ
    @given(
        path=st.sampled_from(
            [
                "/account/security/remove/",
                "/account/security/preferred/",
                "/account/security/devices/forget/",
                "/account/activity/not-me/",
            ]
        ),
        data=form("device", "event"),
    )
    @example(path="/account/activity/not-me/", data={"event": "\u00b2"})
    @example(path="/account/security/devices/forget/", data={"device": "9" * 5_000})
    def test_id_fields(self, path, data):
        self.fresh()
        post(self.client, path, data)
        self.assertTrue(TOTPDevice.objects.filter(pk=self.device.pk, preferred=False).exists())
        self.assertTrue(self.client.get("/").wsgi_request.user.is_authenticated, "no sign-in matched: nobody out")

    @FUZZ
    @given(
        path=st.sampled_from(
            ["/account/security/webauthn/complete/", "/account/reauthenticate/factor/webauthn/complete/"]
        ),
        body=json_body,
    )
    def test_webauthn_json(self, path, body):
        self.fresh()
        self.client.post(path.replace("complete", "begin"))
        response = self.client.post(path, body, content_type="application/json")
        self.assertLess(response.status_code, 500)
        self.assertFalse(WebAuthnCredential.objects.exists(), "no credential from garbage")
