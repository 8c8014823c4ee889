"""Fuzzing the provider's public endpoints: any query or form gets an answer, never a 500, and
nothing is issued to an address that is not registered."""

from __future__ import annotations

from urllib.parse import urlencode

from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from tests.base import BrowserClient
from tests.helpers import make_user, unique_email
from tests.oidc.base import CHALLENGE_ONLY, REDIRECT, TOKEN, pkce_pair
from tests.oidc.factories import make_client
from tests.security.test_fuzzing import FUZZ

NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\r\nSet-Cookie: x=1",
        "A" * 20_000,
        "😀" * 500,
        "-1",
        "none login",
        "phr mfa x",
        "S256",
        "plain",
        "openid",
        "openid email admin",
        "code",
        "token id_token",
        "https://evil.example/",
        REDIRECT,
    ]
)
VALUE = st.one_of(NASTY, st.text(max_size=80))
KEYS = st.sampled_from(
    [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "max_age",
        "acr_values",
        "claims",
        "request",
        "grant_type",
        "code",
        "code_verifier",
        "client_secret",
        "refresh_token",
        "id_token_hint",
        "post_logout_redirect_uri",
    ]
)


@override_settings(LOGIN_STAGES=CHALLENGE_ONLY)
class ProviderFuzzTests(TestCase):
    def setUp(self) -> None:
        self.app, self.secret = make_client(name="Fuzz App", redirect_uris=[REDIRECT])
        self.signed_in = BrowserClient()
        self.signed_in.force_login(make_user(unique_email()))

    def params(self, data: dict) -> dict:
        base = {
            "response_type": "code",
            "client_id": self.app.client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid",
            "code_challenge": pkce_pair()[1],
            "code_challenge_method": "S256",
        }
        return {**base, **data}

    @FUZZ
    @given(data=st.dictionaries(KEYS, VALUE, max_size=6))
    def test_authorize_never_fails_and_never_redirects_elsewhere(self, data):
        for client in (BrowserClient(), self.signed_in):
            response = client.get("/o/authorize/?" + urlencode(self.params(data)))
            self.assertLess(response.status_code, 500)
            location = response.get("Location", "")
            if location.startswith("http"):
                self.assertTrue(location.startswith(REDIRECT + "?"), location)

    @FUZZ
    @given(data=st.dictionaries(KEYS, VALUE, max_size=6))
    def test_token_and_userinfo_and_logout_never_fail(self, data):
        self.assertLess(BrowserClient().post(TOKEN, data).status_code, 500)
        auth = {"HTTP_AUTHORIZATION": "Bearer " + data.get("code", "x")[:500]}
        self.assertLess(BrowserClient().get("/o/userinfo/", **auth).status_code, 500)
        response = self.signed_in.get("/o/logout/", data)
        self.assertLess(response.status_code, 500)
        self.assertFalse(response.get("Location", "").startswith("https://evil"))
