"""Settings of the factors app, with their documented defaults, in one place.

Read a value with ``factors_settings.NAME`` (without the ``FACTORS_`` prefix). Every read goes to
``django.conf.settings``, so ``override_settings`` in tests takes effect immediately.

Values the integrator maps from the environment (see the README of the app):

``FACTORS_ENCRYPTION_KEYS``
    List of Fernet keys (urlsafe base64 of 32 bytes). The first encrypts, all decrypt, so a new
    key is added at the front and the old ones stay until ``factors_reencrypt`` has run. Empty
    means: in DEBUG a development key derived from SECRET_KEY; in production a system check error.
``FACTORS_TOTP_ISSUER``
    Issuer shown by authenticator apps (default: ``SITE_NAME`` or "Adaptive MFA").
``FACTORS_SMS_BACKEND``
    Dotted path of the SMS backend class, or one of the aliases "twilio", "console", "locmem".
``FACTORS_TWILIO_ACCOUNT_SID``, ``FACTORS_TWILIO_AUTH_TOKEN``,
``FACTORS_TWILIO_MESSAGING_SERVICE_SID`` or ``FACTORS_TWILIO_FROM_NUMBER``,
``FACTORS_TWILIO_TIMEOUT``
    Credentials and sender of the Twilio backend; the timeout is in seconds.
``FACTORS_SMS_ALLOWED_CALLING_CODES``
    Country calling codes (as strings, without "+") that may receive texts.
``FACTORS_WEBAUTHN_RP_ID``, ``FACTORS_WEBAUTHN_RP_NAME``, ``FACTORS_WEBAUTHN_ORIGINS``
    The relying party id (the site's registrable domain), its display name, and the exact
    origins (scheme://host[:port]) allowed in clientDataJSON.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

PREFIX = "FACTORS_"

DEFAULTS: dict[str, Any] = {
    # Encryption at rest of TOTP secrets (factors.crypto).
    "ENCRYPTION_KEYS": [],
    # TOTP (RFC 6238): what authenticator apps support everywhere.
    "TOTP_ISSUER": None,  # None: settings.SITE_NAME, else "Adaptive MFA"
    "TOTP_DIGITS": 6,
    "TOTP_STEP": 30,
    # Steps accepted either side of the current one, for clock drift.
    "TOTP_TOLERANCE": 1,
    # Exponential back-off after failed verifications: factor * 2 ** (failures - 1) seconds.
    "THROTTLE_FACTOR": 1,
    # Email and SMS codes (ASVS 6.5.4/6.5.5): 6 digits, 10 minutes, 60 s between sends.
    "CODE_DIGITS": 6,
    "CODE_VALIDITY_SECONDS": 600,
    "CODE_COOLDOWN_SECONDS": 60,
    # Recovery codes: 10 codes of 80 bits each.
    "RECOVERY_CODE_COUNT": 10,
    "RECOVERY_CODE_BYTES": 10,
    # SMS delivery.
    "SMS_BACKEND": "console",
    "TWILIO_ACCOUNT_SID": "",
    "TWILIO_AUTH_TOKEN": "",
    "TWILIO_MESSAGING_SERVICE_SID": "",
    "TWILIO_FROM_NUMBER": "",
    "TWILIO_TIMEOUT": 10,
    # Country calling codes that may receive texts. A short list on purpose: SMS pumping targets
    # premium ranges in countries a site has no users in. Extend it for the countries you serve.
    "SMS_ALLOWED_CALLING_CODES": [
        "1",
        "31",
        "32",
        "33",
        "34",
        "39",
        "41",
        "43",
        "44",
        "45",
        "46",
        "47",
        "49",
        "353",
        "358",
    ],
    # Send caps per hour and per day, keyed by user, phone number, client IP and country calling
    # code. Counters live in the default cache (Redis in production, shared by all processes).
    "SMS_CAPS": {
        "user": {"hour": 5, "day": 10},
        "number": {"hour": 5, "day": 10},
        "ip": {"hour": 10, "day": 30},
        "country": {"hour": 200, "day": 1000},
    },
    # Email-code send caps per hour and day (the 60 s cooldown applies as well).
    "EMAIL_CAPS": {
        "user": {"hour": 10, "day": 30},
        "address": {"hour": 10, "day": 30},
        "ip": {"hour": 20, "day": 100},
    },
    # WebAuthn relying party.
    "WEBAUTHN_RP_ID": "localhost",
    "WEBAUTHN_RP_NAME": None,  # None: settings.SITE_NAME, else "Adaptive MFA"
    "WEBAUTHN_ORIGINS": ["http://localhost:8000"],
    # A begun ceremony must be completed within this many seconds.
    "WEBAUTHN_TIMEOUT_SECONDS": 300,
}


class FactorsSettings:
    """Read ``FACTORS_*`` settings with the defaults above."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(name)
        value = getattr(settings, PREFIX + name, DEFAULTS[name])
        if value is None and name in {"TOTP_ISSUER", "WEBAUTHN_RP_NAME"}:
            value = getattr(settings, "SITE_NAME", "") or "Adaptive MFA"
        return value


factors_settings = FactorsSettings()
