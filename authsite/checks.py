"""System checks for the accounts app's settings (house rule 7)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured


@register()
def check_login_settings(app_configs=None, **kwargs) -> list:
    from authsite.login.stages import get_login_stages

    problems = []
    try:
        get_login_stages()
    except ImproperlyConfigured as exc:
        problems.append(Error(str(exc), id="accounts.E001"))
    if settings.LOGIN_PENDING_TIMEOUT < 60:
        problems.append(
            Warning("LOGIN_PENDING_TIMEOUT is under a minute; users will not finish a second step.", id="accounts.W001")
        )
    if settings.PASSWORD_MAX_LENGTH < 64:
        problems.append(
            Error("PASSWORD_MAX_LENGTH must allow at least 64 characters (NIST SP 800-63B).", id="accounts.E002")
        )
    if settings.LOGIN_THROTTLE["ACCOUNT_MAX_FAILURES"] > 100:
        problems.append(
            Error(
                "LOGIN_THROTTLE ACCOUNT_MAX_FAILURES must be at most 100 (NIST SP 800-63B §3.2.2).", id="accounts.E003"
            )
        )
    if settings.SESSION_IDLE_TIMEOUT > settings.SESSION_ABSOLUTE_TIMEOUT:
        problems.append(Warning("SESSION_IDLE_TIMEOUT is longer than SESSION_ABSOLUTE_TIMEOUT.", id="accounts.W002"))
    return problems
