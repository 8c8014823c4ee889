"""The test relying party refuses ID and logout tokens it must not accept.

The browser tests prove that the app accepts what the provider really sends; these hand the app's
own checks (``tests/oidc_rp/client.py``, the code its callback runs) tokens a forger or a confused
provider could send: ``alg: none``, another key under the provider's key id, the client secret as an
HMAC key, and wrong claims. The app fetches discovery and JWKS from the provider over HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from unittest import mock

from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import LiveServerTestCase
from jwcrypto import jwk, jwt

from authsite.oidc import keys, services
from tests.oidc.factories import make_client
from tests.oidc_rp.client import LogoutTokenError, check_id_token, check_logout_token
from tests.oidc_rp.client import make_client as rp_client

ACCESS_TOKEN = "an-access-token-value"
NONCE = "n-0S6_WzA2Mj"


def at_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class RelyingPartyTokenChecksTests(LiveServerTestCase):
    def setUp(self) -> None:
        super().setUp()
        override = self.settings(SITE_URL=self.live_server_url)
        override.enable()
        self.addCleanup(override.disable)
        env = mock.patch.dict(os.environ, {"AUTHLIB_INSECURE_TRANSPORT": "1"})
        env.start()
        self.addCleanup(env.stop)
        self.client_row, self.secret = make_client(name="Example App", redirect_uris=["http://127.0.0.1:9/callback/"])
        self.rp = rp_client(
            provider_url=self.live_server_url, client_id=self.client_row.client_id, client_secret=self.secret
        )

    def claims(self, **changes) -> dict:
        now = int(time.time())
        claims = {
            "iss": self.live_server_url,
            "aud": self.client_row.client_id,
            "sub": "a-stable-subject",
            "iat": now,
            "exp": now + 300,
            "auth_time": now,
            "nonce": NONCE,
            "at_hash": at_hash(ACCESS_TOKEN),
            "acr": "mfa",
            "amr": ["pwd", "otp", "mfa"],
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def check(self, id_token: str, **kwargs) -> dict:
        return check_id_token(self.rp, {"id_token": id_token, "access_token": ACCESS_TOKEN}, nonce=NONCE, **kwargs)

    def assert_refused(self, id_token: str, **kwargs) -> None:
        with self.assertRaises(Exception):  # noqa: B017 - any refusal will do; acceptance is the failure
            self.check(id_token, **kwargs)

    def test_a_token_the_provider_signed_is_accepted(self):
        claims = self.check(keys.jwt_sign(self.claims()))
        self.assertEqual((claims["sub"], claims["acr"]), ("a-stable-subject", "mfa"))

    def test_alg_none_is_refused(self):
        unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(self.claims())}."
        self.assert_refused(unsigned)

    def test_another_key_under_the_providers_key_id_is_refused(self):
        kid = keys.signing_key().kid
        other = jwk.JWK.from_pyca(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        token = jwt.JWT(header={"alg": "RS256", "kid": kid, "typ": "JWT"}, claims=json.dumps(self.claims()))
        token.make_signed_token(other)
        self.assert_refused(token.serialize())

    def test_the_client_secret_as_an_hmac_key_is_refused(self):
        secret = jwk.JWK(kty="oct", k=base64.urlsafe_b64encode(self.secret.encode()).rstrip(b"=").decode())
        token = jwt.JWT(header={"alg": "HS256", "typ": "JWT"}, claims=json.dumps(self.claims()))
        token.make_signed_token(secret)
        self.assert_refused(token.serialize())

    def test_wrong_claims_are_refused(self):
        now = int(time.time())
        for name, changes in {
            "issuer": {"iss": "http://evil.example"},
            "audience": {"aud": "another-client"},
            "expired": {"iat": now - 7200, "exp": now - 3600},
            "nonce": {"nonce": "a-replayed-nonce"},
            "no nonce": {"nonce": None},
            "no at_hash": {"at_hash": None},
            "at_hash of another token": {"at_hash": at_hash("another-access-token")},
        }.items():
            with self.subTest(name):
                self.assert_refused(keys.jwt_sign(self.claims(**changes)))

    def test_max_age_needs_a_recent_auth_time(self):
        self.check(keys.jwt_sign(self.claims()), max_age=0)
        self.assert_refused(keys.jwt_sign(self.claims(auth_time=int(time.time()) - 3600)), max_age=60)
        self.assert_refused(keys.jwt_sign(self.claims(auth_time=None)), max_age=60)

    def test_logout_tokens_are_checked_as_back_channel_logout_1_0_asks(self):
        good = services.logout_token(client=self.client_row, sub="a-stable-subject", sid="sid-1")
        self.assertEqual(check_logout_token(self.rp, good)["sid"], "sid-1")
        now = int(time.time())
        base = {
            "iss": self.live_server_url,
            "aud": self.client_row.client_id,
            "iat": now,
            "jti": "j-1",
            "sid": "sid-1",
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        }
        for name, token in {
            "alg none": f"{b64({'alg': 'none'})}.{b64(base)}.",
            "with a nonce": keys.jwt_sign({**base, "nonce": "x"}),
            "another app": keys.jwt_sign({**base, "aud": "another-client"}),
            "not a logout event": keys.jwt_sign({**base, "events": {}}),
            "neither sid nor sub": keys.jwt_sign({k: v for k, v in base.items() if k != "sid"}),
        }.items():
            with self.subTest(name), self.assertRaises(LogoutTokenError):
                check_logout_token(self.rp, token)
