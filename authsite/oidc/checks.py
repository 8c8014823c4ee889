"""System checks of the provider's settings (docs/house-rules.md, rule 7)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

from authsite.oidc import keys


@register()
def check_signing_keys(app_configs, **kwargs) -> list:
    problems = []
    if not settings.OIDC_SIGNING_KEYS and not settings.DEBUG:
        return [
            Error(
                "OIDC_SIGNING_KEYS is empty: the OpenID Connect provider cannot sign ID tokens.",
                hint="Run `python manage.py oidc_keys generate` and put its output in OIDC_SIGNING_KEYS.",
                id="oidc.E001",
            )
        ]
    if settings.OIDC_SIGNING_KEYS:
        try:
            keys.signing_keys()
        except ImproperlyConfigured as exc:
            problems.append(Error(str(exc), id="oidc.E002"))
    return problems


@register(deploy=True)
def check_development_key(app_configs, **kwargs) -> list:
    if settings.OIDC_SIGNING_KEYS:
        return []
    return [
        Warning(
            "OIDC_SIGNING_KEYS is empty: ID tokens are signed with a development key kept in a file.",
            hint="Run `python manage.py oidc_keys generate` and set OIDC_SIGNING_KEYS.",
            id="oidc.W001",
        )
    ]
