"""Encryption at rest of factor secrets (TOTP keys), with key rotation.

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) through ``MultiFernet``: the first key of
``FACTORS_ENCRYPTION_KEYS`` encrypts, every key decrypts. To rotate: put a new key first, deploy,
run ``manage.py factors_reencrypt`` (``reencrypt``), then drop the old key.

Without configured keys, development (DEBUG, or a ``manage.py test`` run, which forces DEBUG off
but is not production: ``settings.TESTING``) gets a key derived from SECRET_KEY, so ``runserver``
and the test suites of other apps work out of the box; production refuses (system check
``factors.E001`` and ImproperlyConfigured at first use), because a key derived from SECRET_KEY
would make rotating SECRET_KEY destroy every TOTP enrollment.
"""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from factors.conf import factors_settings

__all__ = ["InvalidToken", "decrypt", "encrypt", "generate_key", "needs_reencrypt", "reencrypt"]


def generate_key() -> str:
    """Return a new random Fernet key, for ``FACTORS_ENCRYPTION_KEYS``."""
    return Fernet.generate_key().decode()


def development_key() -> bytes:
    """Derive the DEBUG-only fallback key from SECRET_KEY."""
    digest = hashlib.sha256(b"factors.crypto.development-key\x00" + settings.SECRET_KEY.encode())
    return base64.urlsafe_b64encode(digest.digest())


def development_mode() -> bool:
    """Tell whether the development fallback key may be used (DEBUG or a test run)."""
    return bool(settings.DEBUG or getattr(settings, "TESTING", False))


def configured_keys() -> list[bytes]:
    """Return the keys in use, newest first; raise ImproperlyConfigured if there are none."""
    keys = factors_settings.ENCRYPTION_KEYS
    if isinstance(keys, str):
        keys = [k for k in keys.split(",") if k.strip()]
    keys = [k.strip().encode() if isinstance(k, str) else k for k in keys]
    if keys:
        return keys
    if development_mode():
        return [development_key()]
    raise ImproperlyConfigured(
        "FACTORS_ENCRYPTION_KEYS is empty. Set it to one or more Fernet keys, e.g. "
        "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
    )


@functools.cache
def _fernet(keys: tuple[bytes, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in keys])


def _multi() -> MultiFernet:
    # Cached on the key tuple, so override_settings and rotation need no cache clearing.
    return _fernet(tuple(configured_keys()))


def encrypt(plaintext: bytes) -> str:
    """Encrypt ``plaintext`` with the newest key; return a text token for a TextField."""
    return _multi().encrypt(plaintext).decode("ascii")


def decrypt(token: str) -> bytes:
    """Decrypt a token made by ``encrypt`` with any configured key (InvalidToken otherwise)."""
    return _multi().decrypt(token.encode("ascii"))


def reencrypt(token: str) -> str:
    """Return ``token`` re-encrypted with the newest key (keeps the original timestamp)."""
    return _multi().rotate(token.encode("ascii")).decode("ascii")


def needs_reencrypt(token: str) -> bool:
    """Tell whether ``token`` fails to decrypt with the newest key alone."""
    newest = Fernet(configured_keys()[0])
    try:
        newest.decrypt(token.encode("ascii"))
    except InvalidToken:
        return True
    return False
