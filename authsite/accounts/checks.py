"""System checks for the accounts app's settings (docs/house-rules.md, rule 7)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from authsite.accounts.caps import caps_problems


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
    for problem in caps_problems(settings.ACCOUNT_EMAIL_CAPS, scopes=("address", "ip")):
        problems.append(Error(f"ACCOUNT_EMAIL_CAPS {problem}.", id="accounts.E004"))
    problems.extend(_site_url_problems())
    return problems


def _site_url_problems() -> list:
    url = getattr(settings, "SITE_URL", "") or ""
    if not url:
        if settings.DEBUG:
            return []
        return [
            Error(
                "SITE_URL is not set. Links in emails (activation, password reset) are built from it.",
                hint="Set SITE_URL to the public address of the site, e.g. https://auth.example.com",
                id="accounts.E005",
            )
        ]
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.path not in {"", "/"} or parts.query:
        return [
            Error(
                f"SITE_URL must be scheme://host[:port] with nothing after it, not {url!r}.",
                hint="e.g. https://auth.example.com",
                id="accounts.E006",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_accounts_deploy(app_configs=None, **kwargs) -> list:
    """Report account settings that are fine in development only (``manage.py check --deploy``)."""
    problems = []
    if urlsplit(getattr(settings, "SITE_URL", "") or "").scheme != "https":
        problems.append(Error("SITE_URL must start with https:// in production.", id="accounts.E007"))
    return problems
