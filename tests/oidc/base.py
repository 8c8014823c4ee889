"""Driving the provider's real endpoints with Django's test client: PKCE, authorize, sign-in
through the staged login, token exchange, and ID-token checks with an independent library."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt as pyjwt

from authsite.core import clock
from factors import otp
from tests.base import BrowserClient
from tests.helpers import PASSWORD, CacheClearingTestCase, make_user, totp_device
from tests.oidc.factories import make_client

REDIRECT = "https://app.example.com/callback"
AUTHORIZE = "/o/authorize/"
TOKEN = "/o/token/"
USERINFO = "/o/userinfo/"
JWKS = "/o/jwks/"
DISCOVERY = "/.well-known/openid-configuration"
ISSUER = "http://testserver"
# The test sign-in: the challenge stage alone (a user with a factor is asked for it), so a test
# controls exactly what the session proves; tests of the risk engine's part use the shipped stages.
CHALLENGE_ONLY = ["factors.stages.ChallengeStage"]


def pkce_pair() -> tuple[str, str]:
    """Return a PKCE code verifier and its S256 challenge (RFC 7636, section 4.2)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class OidcTestCase(CacheClearingTestCase):
    """A registered first-party client, a user with an authenticator app, and the flow's steps."""

    def setUp(self) -> None:
        super().setUp()
        self.browser = BrowserClient()
        self.app, self.secret = make_client(name="Example App", redirect_uris=[REDIRECT])
        self.user = make_user()
        self.device, self.key = totp_device(self.user)

    # --- the authorization request -----------------------------------------------------------------

    def authorize_url(self, app=None, *, challenge: str | None = None, **extra: str) -> str:
        app = app or self.app
        if challenge is None:
            self.verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid email",
            "state": "state-123",
            "nonce": "nonce-456",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        params = {k: v for k, v in params.items() if v is not None}
        return f"{AUTHORIZE}?{urlencode(params)}"

    def sign_in(self, next_url: str, *, with_factor: bool = True):
        """Sign in through the login page (password, then the app code when asked); return the last response."""
        response = self.browser.post("/login/", {"email": self.user.email, "password": PASSWORD, "next": next_url})
        if response.status_code == 302 and response["Location"].startswith("/login/verify/") and with_factor:
            response = self.pass_challenge()
        return response

    def pass_challenge(self):
        return self.browser.post(
            "/login/verify/",
            {"device": self.device.persistent_id, "action": "verify", "code": otp.totp(self.key, clock.now())},
        )

    def code_from(self, response) -> str:
        self.assertEqual(response.status_code, 302, getattr(response, "content", b"")[:500])
        location = response["Location"]
        self.assertTrue(location.startswith(REDIRECT + "?"), location)
        query = query_of(location)
        self.assertEqual(query.get("state"), "state-123")
        self.assertIn("code", query, query)
        return query["code"]

    def sign_in_for_code(self, **extra: str) -> str:
        """Run the whole front channel: authorize, sign in, back to authorize, code at the redirect URI."""
        url = self.authorize_url(**extra)
        first = self.browser.get(url)
        self.assertEqual(first.status_code, 302)
        login = first["Location"]
        if login.startswith(REDIRECT):  # already signed in well enough
            return self.code_from(first)
        self.assertTrue(login.startswith("/login/?next="), login)
        response = self.sign_in(query_of(login)["next"])
        while response.status_code == 302 and not response["Location"].startswith(REDIRECT):
            response = self.browser.get(response["Location"])
        return self.code_from(response)

    # --- the back channel --------------------------------------------------------------------------

    def exchange(self, code: str, *, verifier: str | None = None, app=None, secret: str | None = None, **extra):
        app = app or self.app
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier if verifier is not None else self.verifier,
            "client_id": app.client_id,
            **extra,
        }
        secret = secret if secret is not None else (self.secret if app == self.app else None)
        if secret:
            data["client_secret"] = secret
        data = {k: v for k, v in data.items() if v is not None}
        return BrowserClient().post(TOKEN, data)

    def tokens(self, code: str, **kwargs) -> dict:
        response = self.exchange(code, **kwargs)
        self.assertEqual(response.status_code, 200, response.content)
        data = response.json()
        self.last_id_token = data.get("id_token")
        return data

    def id_claims(self, id_token: str, *, audience: str | None = None) -> dict:
        """Verify the ID token with PyJWT against the published JWKS, as a relying party would."""
        jwks = BrowserClient().get(JWKS).json()
        header = pyjwt.get_unverified_header(id_token)
        key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
        return pyjwt.decode(
            id_token,
            key=pyjwt.PyJWK(key).key,
            algorithms=[key["alg"]],
            audience=audience or self.app.client_id,
            issuer=ISSUER,
        )

    def userinfo(self, access_token: str) -> dict:
        response = BrowserClient().get(USERINFO, HTTP_AUTHORIZATION=f"Bearer {access_token}")
        self.assertEqual(response.status_code, 200, response.content)
        return json.loads(response.content)
