"""The relying party's OpenID Connect client (Authlib) and its checks of what the provider sends.

Kept apart from the views so that the provider's tests can hand forged tokens to exactly the code
the running app uses.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from authlib.integrations.django_client import OAuth
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError, MissingClaimError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# Clock skew allowed between the two hosts, in seconds.
LEEWAY = 60


class StrictIDToken(CodeIDToken):
    """An ID token from the code flow whose ``at_hash`` must be present (and, as Authlib checks, right)."""

    def validate_at_hash(self) -> None:
        if self.params.get("access_token") and "at_hash" not in self:
            raise MissingClaimError("at_hash")
        super().validate_at_hash()


class LogoutTokenError(ValueError):
    """A back-channel logout token that must not end any session."""


def make_client(*, provider_url: str, client_id: str, client_secret: str = ""):
    """Register the provider with Authlib: code flow, PKCE S256, discovery from the issuer."""
    oauth = OAuth()
    kwargs = {"scope": "openid email", "code_challenge_method": "S256"}
    if not client_secret:
        kwargs["token_endpoint_auth_method"] = "none"
    return oauth.register(
        name="provider",
        client_id=client_id,
        client_secret=client_secret or None,
        server_metadata_url=f"{provider_url.rstrip('/')}/.well-known/openid-configuration",
        client_kwargs=kwargs,
    )


def check_id_token(client, token: dict, *, nonce: str, max_age: int | None = None) -> dict:
    """Validate ``token['id_token']`` as the app does after the code exchange; return its claims.

    Signature against the provider's JWKS with the algorithms it announces (never ``none``), then
    ``iss``, ``aud``, ``exp``, ``iat``, ``nonce``, ``at_hash`` (required), and ``auth_time`` when
    ``max_age`` was asked for. Raises on anything wrong.
    """
    metadata = client.load_server_metadata()
    options = {"iss": {"essential": True, "values": [metadata["issuer"]]}}
    params = {"nonce": nonce, "client_id": client.client_id, "access_token": token.get("access_token")}
    if max_age is not None:
        params["max_age"] = max_age
    claims = _decode(client, token["id_token"], options, params, StrictIDToken)
    if max_age is not None and claims["auth_time"] + max_age + LEEWAY < time.time():
        raise ValueError("auth_time is older than the max_age the app asked for")
    return dict(claims)


def check_logout_token(client, logout_token: str) -> dict:
    """Validate a back-channel logout token (OpenID Connect Back-Channel Logout 1.0, section 2.6)."""
    metadata = client.load_server_metadata()
    try:
        claims = _decode_plain(client, logout_token)
    except JoseError as exc:
        raise LogoutTokenError(f"bad signature or format: {exc}") from exc
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if claims.get("iss") != metadata["issuer"]:
        raise LogoutTokenError("wrong issuer")
    if client.client_id not in audiences:
        raise LogoutTokenError("not for this app")
    if not isinstance(claims.get("iat"), int | float) or abs(time.time() - claims["iat"]) > 300:
        raise LogoutTokenError("iat missing or not recent")
    if not claims.get("jti"):
        raise LogoutTokenError("jti missing")
    if "nonce" in claims:
        raise LogoutTokenError("a logout token must not carry a nonce")
    events = claims.get("events")
    if not isinstance(events, dict) or BACKCHANNEL_EVENT not in events:
        raise LogoutTokenError("not a back-channel logout event")
    if not claims.get("sid") and not claims.get("sub"):
        raise LogoutTokenError("neither sid nor sub")
    return claims


def _algorithms(client) -> list[str]:
    announced = client.load_server_metadata().get("id_token_signing_alg_values_supported") or ["RS256"]
    return [alg for alg in announced if alg.lower() != "none"]


def _keys(client, *, force: bool = False) -> KeySet:
    return KeySet.import_key_set(client.fetch_jwk_set(force=force))


def _decode_plain(client, value: str) -> dict:
    registry = JWSRegistry(algorithms=_algorithms(client))
    return jwt.decode(value, _keys(client, force=True), registry=registry).claims


def _decode(client, value: str, options: dict, params: dict, claims_cls) -> CodeIDToken:
    registry = JWSRegistry(algorithms=_algorithms(client))
    decoded = jwt.decode(value, _keys(client, force=True), registry=registry)
    claims = claims_cls(decoded.claims, decoded.header, options, params)
    claims.validate(leeway=LEEWAY)
    return claims


class SessionIndex:
    """Which of this app's sessions belong to a provider session (``sid``) or user (``sub``)."""

    def __init__(self, state_dir: str) -> None:
        self.root = Path(state_dir) / "index"
        self.root.mkdir(parents=True, exist_ok=True)

    def _file(self, kind: str, value: str) -> Path:
        return self.root / f"{kind}-{hashlib.sha256(value.encode()).hexdigest()}"

    def add(self, *, sid: str, sub: str, session_key: str) -> None:
        for kind, value in (("sid", sid), ("sub", sub)):
            if value:
                with self._file(kind, value).open("a") as f:
                    f.write(session_key + "\n")

    def take(self, *, sid: str = "", sub: str = "") -> list[str]:
        """Return and forget the session keys for ``sid`` (or, without one, every session of ``sub``)."""
        kind, value = ("sid", sid) if sid else ("sub", sub)
        path = self._file(kind, value)
        if not path.exists():
            return []
        keys = path.read_text().split()
        path.unlink()
        return keys
