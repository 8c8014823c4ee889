"""The provider's signing keys: loaded from ``OIDC_SIGNING_KEYS``, published as the JWKS, used to
sign every ID token (the one module that touches them).

``OIDC_SIGNING_KEYS`` is a comma-separated list of private keys, each a PEM file encoded in base64
on one line (``manage.py oidc_keys generate`` prints one). The first key signs; every key is
published, so a key is added at the end a while before it is moved first (rotation: relying
parties see it in the JWKS before any token is signed with it) and the old one is removed once the
ID tokens it signed have expired. An RSA key signs with RS256, an EC P-256 key with ES256.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from jwcrypto import jwk, jwt

logger = logging.getLogger("authsite.oidc")

RS256 = "RS256"
ES256 = "ES256"
ALGORITHMS = (RS256, ES256)


@dataclass(frozen=True)
class SigningKey:
    key: jwk.JWK
    alg: str

    @property
    def kid(self) -> str:
        return self.key.thumbprint()

    def public_jwk(self) -> dict:
        return {**json.loads(self.key.export_public()), "kid": self.kid, "alg": self.alg, "use": "sig"}


def key_generate(alg: str = RS256) -> str:
    """Return a new private key for ``OIDC_SIGNING_KEYS``: its PEM, base64-encoded on one line."""
    if alg == ES256:
        private = ec.generate_private_key(ec.SECP256R1())
    elif alg == RS256:
        private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    else:
        raise ValueError(f"unknown algorithm {alg!r}; use {' or '.join(ALGORITHMS)}")
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return base64.b64encode(pem).decode("ascii")


def key_parse(value: str) -> SigningKey:
    """Read one entry of ``OIDC_SIGNING_KEYS``; raise ``ValueError`` with the reason."""
    try:
        pem = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64 (encode the PEM file, e.g. with manage.py oidc_keys generate)") from exc
    try:
        private = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError("not an unencrypted PEM private key") from exc
    if isinstance(private, rsa.RSAPrivateKey):
        if private.key_size < 2048:
            raise ValueError(f"an RSA key of {private.key_size} bits; at least 2048 are needed")
        alg = RS256
    elif isinstance(private, ec.EllipticCurvePrivateKey) and isinstance(private.curve, ec.SECP256R1):
        alg = ES256
    else:
        raise ValueError("neither an RSA key nor an EC key on P-256")
    return SigningKey(key=jwk.JWK.from_pem(pem), alg=alg)


@functools.cache
def signing_keys() -> tuple[SigningKey, ...]:
    """Return the configured keys, the signing one first (cached until the setting changes)."""
    values = [v for v in settings.OIDC_SIGNING_KEYS if v.strip()]
    if not values:
        if not settings.DEBUG:
            raise ImproperlyConfigured("OIDC_SIGNING_KEYS is empty; run manage.py oidc_keys generate.")
        values = [_development_key()]
    keys = []
    for number, value in enumerate(values, start=1):
        try:
            keys.append(key_parse(value))
        except ValueError as exc:
            raise ImproperlyConfigured(f"OIDC_SIGNING_KEYS: key {number} is {exc}.") from exc
    return tuple(keys)


def _development_key() -> str:
    """Return the development key, made once in ``OIDC_DEV_KEY_FILE`` and shared by every process.

    The key is written to a temporary file and linked into place, so a process starting at the
    same moment reads either nothing (and links its own, or loses the race and reads the winner's)
    or the whole key, never half of it.
    """
    path = Path(settings.OIDC_DEV_KEY_FILE)
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".oidc-key-")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key_generate(RS256))
        try:
            os.link(tmp, path)
            logger.warning("made a development OpenID Connect signing key in %s", path)
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return path.read_text(encoding="ascii").strip()


def signing_key() -> SigningKey:
    return signing_keys()[0]


def jwks() -> dict:
    """The public keys, as published at the JWKS address."""
    return {"keys": [k.public_jwk() for k in signing_keys()]}


def verification_keyset() -> jwk.JWKSet:
    """Every published key, for checking a token this provider signed (e.g. an ``id_token_hint``)."""
    keyset = jwk.JWKSet()
    for key in signing_keys():
        keyset.add(key.key)
    return keyset


def jwt_sign(claims: dict, *, typ: str = "JWT") -> str:
    """Sign ``claims`` with the signing key (its ``kid`` in the header)."""
    key = signing_key()
    token = jwt.JWT(header={"typ": typ, "alg": key.alg, "kid": key.kid}, claims=json.dumps(claims, default=str))
    token.make_signed_token(key.key)
    return token.serialize()


@receiver(setting_changed)
def _reset_keys(*, setting: str, **kwargs: object) -> None:
    if setting in ("OIDC_SIGNING_KEYS", "DEBUG", "OIDC_DEV_KEY_FILE"):
        signing_keys.cache_clear()
