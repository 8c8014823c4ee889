"""HOTP/TOTP arithmetic (RFC 4226/6238) on top of pyotp, the one code path the devices use."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

import pyotp

DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def b32(key: bytes) -> str:
    """Return ``key`` as unpadded base32, the form authenticator apps and pyotp take."""
    return base64.b32encode(key).decode("ascii").rstrip("=")


def hotp(key: bytes, counter: int, *, digits: int = 6, digest: str = "sha1") -> str:
    """Return the HOTP value (RFC 4226) of ``key`` at ``counter``."""
    return pyotp.HOTP(b32(key), digits=digits, digest=DIGESTS[digest]).at(counter)


def time_step(when: datetime, *, step: int = 30) -> int:
    """Return the RFC 6238 time step T of ``when`` (T0 = 0)."""
    return int(when.timestamp()) // step


def totp(key: bytes, when: datetime, *, step: int = 30, digits: int = 6, digest: str = "sha1") -> str:
    """Return the TOTP value (RFC 6238) of ``key`` at ``when``."""
    return hotp(key, time_step(when, step=step), digits=digits, digest=digest)


def provisioning_uri(key: bytes, *, account: str, issuer: str, digits: int, step: int) -> str:
    """Return the otpauth:// URI an authenticator app scans."""
    return pyotp.TOTP(b32(key), digits=digits, interval=step).provisioning_uri(name=account, issuer_name=issuer)
