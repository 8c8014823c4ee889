"""Settings of the risk engine, with their documented defaults, read in one place.

Every setting is read with ``getattr(settings, NAME, default)`` at call time, so
``override_settings`` works. Swappable parts (GeoIP provider, policy, signals) are dotted paths
loaded by :mod:`risk.loading`, whose caches are cleared on ``setting_changed``.

Setting names (all optional):

RISK_MODE                    "adaptive" (default) or "strict". Strict: every sign-in is at least
                             CHALLENGE; risk only raises the strength or denies.
RISK_POLICY                  dotted path of the policy class, or one of the names of POLICY_NAMES:
                             "adaptive" (risk.policy.AdaptivePolicy, the default), "learned"
                             (risk.learned.LearnedPolicy, the trained model) or "freeman" (the
                             plain-Freeman baseline).
RISK_MODEL_FILE              the trained model's JSON file read by risk.learned.LearnedPolicy (None:
                             risk/data/risk_model.json, written by manage.py risk_train).
RISK_SIGNALS                 list of dotted paths of signal classes (see DEFAULT_SIGNALS).
RISK_THRESHOLDS              {"CHALLENGE": float, "CHALLENGE_STRONG": float, "DENY": float}: the
                             final score (natural log of the risk ratio plus signal terms) at
                             or above which each decision applies.
RISK_FIRST_LOGIN             decision for a user without history: "allow", "challenge" (default)
                             or "challenge_strong". The model cannot score a first login
                             (docs/risk-model.md); asking for a factor once costs little and stops an
                             attacker who got the password before the owner ever signed in.
RISK_UNSEEN_FACTOR           likelihood ratio used for a feature unseen at every level of the
                             user's history (4.0, as in the reference implementation).
RISK_GEOIP_PROVIDER          dotted path of the GeoIP provider class (risk.geo.MaxMindGeoProvider).
RISK_GEOIP_CITY_DB           path of a GeoIP2/GeoLite2 City .mmdb file, or None.
RISK_GEOIP_ASN_DB            path of a GeoIP2/GeoLite2 ASN .mmdb file, or None.
RISK_IMPOSSIBLE_TRAVEL_KMH   speed above which travel is impossible (1000 km/h).
RISK_TRAVEL_FLOOR_KM         distances below this (after subtracting accuracy radii) are ignored
                             (50 km), because GeoIP is coarse.
RISK_HOSTING_ASNS            iterable of ASNs treated as hosting/VPN networks (risk.signals.network
                             .DEFAULT_HOSTING_ASNS).
RISK_IP_REPUTATION_FILES     list of paths of FireHOL .netset / plain CIDR / Tor exit list files.
RISK_VELOCITY                dict: WINDOW_SECONDS (900), ACCOUNT_FAILURES (5),
                             IP_FAILURES (20), SPRAY_ACCOUNTS (5), ACCOUNT_MAX_FAILURES (100).
RISK_VELOCITY_CACHE          cache alias used by the cache velocity store ("default").
RISK_UA_CACHE_SIZE           size of the LRU cache of parsed user agents (4096).
RISK_TARGET_CHALLENGE_RATE   share of completed sign-ins (users with history) the self-calibrated
                             CHALLENGE threshold aims to challenge, per band (0.03).
RISK_CALIBRATION             dict: BANDS (lower bounds, in earlier completed sign-ins: 1, 3, 10,
                             50), MIN_SIGN_INS per band and window before leaving the fixed
                             default (300), WINDOW_DAYS (30), FLOOR (-4.0) and CEILING (2.0) of
                             the threshold (never above CHALLENGE_STRONG or DENY either),
                             MAX_STEP per recomputation (1.0), REFRESH_SECONDS a process keeps
                             the stored thresholds before reading them again (60).
                             docs/risk-model.md, "Self-calibrating thresholds".
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.conf import settings

DEFAULT_SIGNALS = [
    "risk.signals.reputation.IPReputationSignal",
    "risk.signals.network.HostingNetworkSignal",
    "risk.signals.network.RareNetworkSignal",
    "risk.signals.travel.ImpossibleTravelSignal",
    "risk.signals.velocity.FailureVelocitySignal",
    "risk.signals.automation.AutomationSignal",
    "risk.signals.newcountry.NewCountrySignal",
    "risk.signals.newnetwork.NewNetworkSignal",
    "risk.signals.device.KnownDeviceSignal",
]

# Tuned on the simulated trace of bench/risk_replay_bench.py (see the README there):
# the score is ln(risk ratio) + signal terms.
# CHALLENGE_STRONG only splits challenges into "any factor" and "phishing-resistant", so it moves
# no catch or challenge rate; 4.5 keeps "a new phone in my usual city" (new device, no cookie:
# about 3.4) an ordinary challenge and sends new countries, travel and hosting networks higher.
DEFAULT_THRESHOLDS = {"CHALLENGE": -1.3, "CHALLENGE_STRONG": 4.5, "DENY": 9.0}

DEFAULT_VELOCITY = {
    "WINDOW_SECONDS": 900,
    "ACCOUNT_FAILURES": 5,
    "IP_FAILURES": 20,
    "SPRAY_ACCOUNTS": 5,
    "ACCOUNT_MAX_FAILURES": 100,
}

# docs/risk-model.md, "Self-calibrating thresholds": why each bound exists.
DEFAULT_CALIBRATION = {
    "BANDS": (1, 3, 10, 50),
    "MIN_SIGN_INS": 300,
    "WINDOW_DAYS": 30,
    "FLOOR": -4.0,
    "CEILING": 2.0,
    "MAX_STEP": 1.0,
    "REFRESH_SECONDS": 60,
}

DEFAULTS: dict[str, Any] = {
    "RISK_MODE": "adaptive",
    "RISK_POLICY": "risk.policy.AdaptivePolicy",
    "RISK_MODEL_FILE": None,
    "RISK_SIGNALS": DEFAULT_SIGNALS,
    "RISK_THRESHOLDS": DEFAULT_THRESHOLDS,
    "RISK_FIRST_LOGIN": "challenge",
    "RISK_UNSEEN_FACTOR": 4.0,
    "RISK_GEOIP_PROVIDER": "risk.geo.MaxMindGeoProvider",
    "RISK_GEOIP_CITY_DB": None,
    "RISK_GEOIP_ASN_DB": None,
    "RISK_IMPOSSIBLE_TRAVEL_KMH": 1000.0,
    "RISK_TRAVEL_FLOOR_KM": 50.0,
    "RISK_HOSTING_ASNS": None,  # None means risk.signals.network.DEFAULT_HOSTING_ASNS
    "RISK_IP_REPUTATION_FILES": [],
    "RISK_VELOCITY": DEFAULT_VELOCITY,
    "RISK_VELOCITY_CACHE": "default",
    "RISK_UA_CACHE_SIZE": 4096,
    "RISK_TARGET_CHALLENGE_RATE": 0.03,
    "RISK_CALIBRATION": DEFAULT_CALIBRATION,
}

SETTING_NAMES = frozenset(DEFAULTS)
POLICY_NAMES = {
    "adaptive": "risk.policy.AdaptivePolicy",
    "learned": "risk.learned.LearnedPolicy",
    "freeman": "risk.policy.FreemanPolicy",
}


def policy_path() -> str:
    """Return the dotted path of the configured policy (RISK_POLICY, a name or a path)."""
    value = get("RISK_POLICY")
    return POLICY_NAMES.get(value, value)


def get(name: str) -> Any:
    """Return the value of a risk setting, or its documented default."""
    return getattr(settings, name, DEFAULTS[name])


def thresholds() -> dict[str, float]:
    """Return the decision thresholds, with missing keys filled from the defaults."""
    merged = dict(DEFAULT_THRESHOLDS)
    merged.update(get("RISK_THRESHOLDS") or {})
    return merged


def velocity() -> dict[str, int]:
    """Return the velocity limits, with missing keys filled from the defaults."""
    merged = dict(DEFAULT_VELOCITY)
    merged.update(get("RISK_VELOCITY") or {})
    return merged


def calibration() -> dict[str, Any]:
    """Return the calibration settings, with missing keys filled from the defaults."""
    merged = dict(DEFAULT_CALIBRATION)
    merged.update(get("RISK_CALIBRATION") or {})
    return merged


@dataclass(frozen=True, slots=True)
class RiskSettings:
    """The values read on every assessment, resolved once (the settings lookup is not free)."""

    mode: str
    thresholds: dict
    velocity: dict
    first_login: str
    unseen_factor: float
    travel_kmh: float
    travel_floor_km: float


@functools.cache
def current() -> RiskSettings:
    """Return the resolved settings; the cache is cleared on ``setting_changed``."""
    return RiskSettings(
        mode=get("RISK_MODE"),
        thresholds=thresholds(),
        velocity=velocity(),
        first_login=get("RISK_FIRST_LOGIN"),
        unseen_factor=float(get("RISK_UNSEEN_FACTOR")),
        travel_kmh=float(get("RISK_IMPOSSIBLE_TRAVEL_KMH")),
        travel_floor_km=float(get("RISK_TRAVEL_FLOOR_KM")),
    )
