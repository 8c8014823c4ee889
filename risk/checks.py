"""System checks of the risk engine's settings."""

from __future__ import annotations

from pathlib import Path

from django.core.checks import Error, Tags, Warning, register

from risk import conf


@register(Tags.compatibility)
def check_risk_settings(app_configs=None, **kwargs):
    """Warn when GeoIP is absent; reject an unknown mode or unordered thresholds."""
    messages = []
    for name in ("RISK_GEOIP_CITY_DB", "RISK_GEOIP_ASN_DB"):
        path = conf.get(name)
        if not path:
            messages.append(
                Warning(
                    f"{name} is not set: sign-ins are scored without location or network.",
                    hint=(
                        "Set GEOIP_CITY_DB / GEOIP_ASN_DB to GeoLite2 or DB-IP .mmdb files "
                        "(python manage.py geoip_demo_db DIR writes demo ones)."
                    ),
                    id="risk.W001",
                )
            )
        elif not Path(path).is_file():
            messages.append(
                Warning(
                    f"{name} points at a file that does not exist; GeoIP is off.",
                    id="risk.W001",
                )
            )
    if conf.get("RISK_MODE") not in ("adaptive", "strict"):
        messages.append(Error("RISK_MODE must be 'adaptive' or 'strict'.", id="risk.E001"))
    t = conf.thresholds()
    if not t["CHALLENGE"] <= t["CHALLENGE_STRONG"] <= t["DENY"]:
        messages.append(Error("RISK_THRESHOLDS must satisfy CHALLENGE <= CHALLENGE_STRONG <= DENY.", id="risk.E002"))
    if conf.get("RISK_FIRST_LOGIN") not in ("allow", "challenge", "challenge_strong"):
        messages.append(Error("RISK_FIRST_LOGIN must be allow, challenge or challenge_strong.", id="risk.E003"))
    return messages
