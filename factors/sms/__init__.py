"""Sending text messages through a swappable backend (``FACTORS_SMS_BACKEND``).

Like Django's mail backends: a dotted path (or the alias "twilio", "console", "locmem"), a base
class, and a loader cached until the setting changes (so ``override_settings`` works).
"""

from __future__ import annotations

import functools

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from factors.conf import factors_settings
from factors.sms.base import BaseSmsBackend, SmsDeliveryError

__all__ = ["BaseSmsBackend", "SmsDeliveryError", "backend_class", "get_backend", "send_sms"]

ALIASES = {
    "twilio": "factors.sms.backends.twilio.SmsBackend",
    "console": "factors.sms.backends.console.SmsBackend",
    "locmem": "factors.sms.backends.locmem.SmsBackend",
}


def backend_class(path: str | None = None) -> type[BaseSmsBackend]:
    """Import the backend class named by ``path`` (default: the setting) or an alias.

    Raises ImportError if it cannot be imported, TypeError if it is not a BaseSmsBackend subclass.
    """
    path = factors_settings.SMS_BACKEND if path is None else path
    cls = import_string(ALIASES.get(path, path))
    if not (isinstance(cls, type) and issubclass(cls, BaseSmsBackend)):
        raise TypeError(f"{path} is not a BaseSmsBackend subclass.")
    return cls


@functools.cache
def get_backend() -> BaseSmsBackend:
    """Return the configured backend instance (cached)."""
    return backend_class()()


@receiver(setting_changed)
def _reset_backend(*, setting: str, **kwargs) -> None:
    if setting.startswith(("FACTORS_SMS_", "FACTORS_TWILIO_")):
        get_backend.cache_clear()


def send_sms(*, to: str, body: str) -> str:
    """Send ``body`` to the E.164 number ``to``; return the provider's message id.

    Raises SmsDeliveryError on any delivery failure.
    """
    return get_backend().send_message(to=to, body=body)
