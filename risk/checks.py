"""System checks of the risk engine's settings."""

from __future__ import annotations

from pathlib import Path

from django.core.checks import Error, Tags, Warning, register

from risk import conf


def _unreadable(path: str) -> str | None:
    """Return why ``path`` is not a readable MaxMind DB file, or None when it opens."""
    import maxminddb

    try:
        maxminddb.open_database(path).close()
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        return type(exc).__name__
    return None


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
        elif (problem := _unreadable(path)) is not None:
            messages.append(
                Warning(
                    f"{name} cannot be read as a GeoIP2 database ({problem}); every sign-in will be asked "
                    "for the strongest factor until it is replaced.",
                    id="risk.W002",
                )
            )
    if conf.get("RISK_MODE") not in ("adaptive", "strict"):
        messages.append(Error("RISK_MODE must be 'adaptive' or 'strict'.", id="risk.E001"))
    t = conf.thresholds()
    if not t["CHALLENGE"] <= t["CHALLENGE_STRONG"] <= t["DENY"]:
        messages.append(Error("RISK_THRESHOLDS must satisfy CHALLENGE <= CHALLENGE_STRONG <= DENY.", id="risk.E002"))
    if conf.get("RISK_FIRST_LOGIN") not in ("allow", "challenge", "challenge_strong"):
        messages.append(Error("RISK_FIRST_LOGIN must be allow, challenge or challenge_strong.", id="risk.E003"))
    messages.extend(_learned_model_messages())
    from risk.thresholds import calibration_problems

    messages.extend(Error(f"{problem}.", id="risk.E004") for problem in calibration_problems())
    return messages


def _learned_model_messages() -> list:
    """Warn when the trained policy is configured but its model file cannot be used (it falls back)."""
    from django.utils.module_loading import import_string

    from risk.learned import LearnedPolicy, ModelFileError, load_model, model_file

    try:
        policy = import_string(conf.policy_path())
    except ImportError:
        names = ", ".join(conf.POLICY_NAMES)
        return [
            Error(
                f"RISK_POLICY {conf.get('RISK_POLICY')!r} is neither {names} nor an importable class.",
                id="risk.E020",
            )
        ]
    if not (isinstance(policy, type) and issubclass(policy, LearnedPolicy)):
        return []
    try:
        load_model(model_file())
    except ModelFileError as exc:
        return [
            Warning(
                f"RISK_POLICY is the trained model, but its file cannot be used ({exc}); sign-ins are scored "
                "by the hand-written policy (risk.policy.AdaptivePolicy) until it is replaced.",
                hint="Run python manage.py risk_train, or set RISK_MODEL_FILE to a model file it wrote.",
                id="risk.W020",
            )
        ]
    return []
