"""System checks of the factors settings (docs/house-rules.md, rule 7)."""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.core.checks import Error, Tags, Warning, register

from factors.conf import factors_settings
from factors.crypto import development_mode
from factors.sms import backend_class


@register(Tags.security)
def check_factors_settings(app_configs=None, **kwargs) -> list:
    """Report missing or malformed factor settings."""
    errors: list = []
    keys = factors_settings.ENCRYPTION_KEYS
    if isinstance(keys, str):
        keys = [k for k in keys.split(",") if k.strip()]
    if not keys and not development_mode():
        errors.append(
            Error(
                "FACTORS_ENCRYPTION_KEYS is empty in production.",
                hint="Set one or more Fernet keys; TOTP secrets are encrypted with the first.",
                id="factors.E001",
            )
        )
    for key in keys:
        try:
            Fernet(key.strip() if isinstance(key, str) else key)
        except (ValueError, TypeError):
            errors.append(
                Error(
                    "An entry of FACTORS_ENCRYPTION_KEYS is not a Fernet key.",
                    hint="A Fernet key is the urlsafe base64 encoding of 32 random bytes.",
                    id="factors.E002",
                )
            )
    backend = factors_settings.SMS_BACKEND
    try:
        backend_class(backend)
    except Exception as exc:  # whatever importing it raised would otherwise surface at send time
        errors.append(
            Error(
                f"FACTORS_SMS_BACKEND (environment variable SMS_BACKEND) is {backend!r}, which "
                f"cannot be used as an SMS backend: {exc}",
                hint="Use twilio, console, locmem or the dotted path of a BaseSmsBackend subclass.",
                id="factors.E007",
            )
        )
    if backend in {"twilio", "factors.sms.backends.twilio.SmsBackend"}:
        if not (factors_settings.TWILIO_ACCOUNT_SID and factors_settings.TWILIO_AUTH_TOKEN):
            errors.append(Error("Twilio credentials are missing.", id="factors.E003"))
        if not (factors_settings.TWILIO_MESSAGING_SERVICE_SID or factors_settings.TWILIO_FROM_NUMBER):
            errors.append(Error("Twilio needs a Messaging Service SID or a From number.", id="factors.E004"))
    if not factors_settings.WEBAUTHN_RP_ID or not factors_settings.WEBAUTHN_ORIGINS:
        errors.append(Error("FACTORS_WEBAUTHN_RP_ID and FACTORS_WEBAUTHN_ORIGINS are required.", id="factors.E005"))
    return errors


@register(Tags.security, deploy=True)
def check_factors_deploy(app_configs=None, **kwargs) -> list:
    """Report development-only factor settings (``manage.py check --deploy``)."""
    errors: list = []
    backend = factors_settings.SMS_BACKEND
    if backend in {"console", "locmem"} | {
        "factors.sms.backends.console.SmsBackend",
        "factors.sms.backends.locmem.SmsBackend",
    }:
        errors.append(
            Warning(
                f"FACTORS_SMS_BACKEND is {backend!r} in production: texts are not delivered.",
                id="factors.W002",
            )
        )
    origins = factors_settings.WEBAUTHN_ORIGINS or []
    if any(not o.startswith("https://") for o in origins):
        errors.append(Error("WebAuthn origins must be https:// in production.", id="factors.E006"))
    return errors
