"""A trained model beside the hand-written score: logistic regression over the engine's features.

``RISK_POLICY = "risk.learned.LearnedPolicy"`` switches to it; the hand-written
:class:`risk.policy.AdaptivePolicy` stays the default and the fallback. The model is a small JSON
file (``RISK_MODEL_FILE``, default ``risk/data/risk_model.json``) written by ``manage.py
risk_train`` with its training figures, read once per process.

Features (:func:`features`): the Freeman terms (the log-likelihood ratio of each hierarchy and
whether the user has seen the value at each level), whether each rule signal fired, the user's
login count, the time since their last sign-in, and the network's statistics (accounts and
returning accounts, risk/network_type.py). The score is the model's log-odds of an attack; each
feature's contribution (its weight times its distance from the training mean) is what the
reasons show. Signal floors apply as in the hand-written policy, and a first sign-in (no
history, nothing to compare with) is left to the hand-written policy.

A model file that is missing, unreadable, of another format version or for other features makes
the policy fall back to the hand-written one, with a ``risk_model_fallback`` log line and the
system check ``risk.W002``: never an unscored sign-in. An error while scoring fails closed
(``risk.policy.assess``).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import operator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

from risk import conf
from risk.decision import Decision
from risk.model import IP_LEVELS, UA_LEVELS, freeman_score
from risk.network_type import network_history
from risk.policy import REASON_TEXTS, AdaptivePolicy, Assessment, Policy, Reason, decision_for

logger = logging.getLogger(__name__)

FORMAT = "risk-logistic"
FORMAT_VERSION = 1
DEFAULT_MODEL_FILE = Path(__file__).resolve().parent / "data" / "risk_model.json"

# Signals whose firing is a feature (the code is the feature's name after "signal:").
SIGNAL_CODES = (
    "ip_reputation",
    "hosting_network",
    "rare_network",
    "transient_network",
    "impossible_travel",
    "account_failures",
    "ip_failures",
    "password_spraying",
    "automation",
    "new_country",
    "new_network",
    "known_device",
    "trusted_device",
    "unknown_device",
    "trusted_device_mismatch",
)
LEVEL_FEATURES = tuple(f"unseen:{level}" for level in IP_LEVELS + UA_LEVELS)
FEATURES = (
    "freeman:ip",
    "freeman:ua",
    "freeman:user",
    *LEVEL_FEATURES,
    *(f"signal:{code}" for code in SIGNAL_CODES),
    "history:logins",
    "history:hours_since_last",
    "network:accounts",
    "network:transience",
)
_INDEX = {name: i for i, name in enumerate(FEATURES)}
_LEVEL_INDEX = [(_INDEX[f"unseen:{lv}"], lv) for lv in IP_LEVELS + UA_LEVELS]
_SIGNAL_INDEX = {code: _INDEX[f"signal:{code}"] for code in SIGNAL_CODES}

# Plain-language reasons for the model's own features (signals bring their own texts).
FEATURE_REASONS = {
    "freeman:ip": "new_network",
    "unseen:ip": "new_network",
    "unseen:net": "new_network",
    "unseen:cc": "new_network",
    "freeman:ua": "new_device",
    "unseen:ua": "new_device",
    "unseen:bv": "new_device",
    "unseen:osv": "new_device",
    "unseen:dev": "new_device",
    "network:accounts": "rare_network",
    "network:transience": "transient_network",
}
FEATURE_TEXTS = {
    "rare_network": _("This sign-in comes from a network hardly anyone here signs in from"),
    "transient_network": _("This sign-in comes from a network whose users rarely come back, as with VPNs and servers"),
}


MIN_REASON = 0.5  # log-odds a reason must add to be named (besides the strongest one)


class ModelFileError(ValueError):
    """The model file cannot be used (missing, unreadable, another version, other features)."""


def features(ctx, snap, signals) -> tuple[list[float], object]:
    """Return the feature vector of an attempt with history, and the Freeman score it includes."""
    x = [0.0] * len(FEATURES)
    model = freeman_score(ctx, snap, unseen_factor=conf.current().unseen_factor)
    feats = model.features
    if "ip" in feats:
        x[0] = feats["ip"].log_ratio
    if "ua" in feats:
        x[1] = feats["ua"].log_ratio
    x[2] = model.log_user_ratio
    user = snap.user
    for (i, level), value in zip(_LEVEL_INDEX, ctx.ip_levels + ctx.ua_levels, strict=True):
        if value is not None and not user.get((level, value)):
            x[i] = 1.0
    for res in signals:
        i = _SIGNAL_INDEX.get(res.code)
        if i is not None:
            x[i] = 1.0
    x[_INDEX["history:logins"]] = math.log1p(snap.n_user)
    last = snap.profile.last_success_at
    if isinstance(last, datetime):
        hours = max(0.0, (ctx.timestamp - last).total_seconds() / 3600.0)
        x[_INDEX["history:hours_since_last"]] = math.log1p(hours)
    history = network_history(snap, ctx.network)
    if history is not None:
        x[_INDEX["network:accounts"]] = math.log1p(history.users)
        x[_INDEX["network:transience"]] = history.log_transience
    return x, model


@dataclass(frozen=True)
class LogisticModel:
    """Weights over standardised features, thresholds on the log-odds, and training figures."""

    weights: tuple[float, ...]
    bias: float
    means: tuple[float, ...]
    scales: tuple[float, ...]
    thresholds: dict
    training: dict

    def __post_init__(self) -> None:
        # Standardisation folded into the weights once: scoring is then one dot product.
        folded = tuple(w / s for w, s in zip(self.weights, self.scales, strict=True))
        offset = self.bias - sum(f * m for f, m in zip(folded, self.means, strict=True))
        object.__setattr__(self, "_folded", folded)
        object.__setattr__(self, "_offset", offset)

    def log_odds(self, x: list[float]) -> float:
        """Return the model's log-odds of an attack for feature vector ``x``."""
        return self._offset + sum(map(operator.mul, self._folded, x))

    def contributions(self, x: list[float]) -> list[tuple[str, float]]:
        """Return each feature's contribution to the log-odds (relative to the training mean)."""
        return [
            (name, w * (v - m) / s)
            for name, w, v, m, s in zip(FEATURES, self.weights, x, self.means, self.scales, strict=True)
        ]

    def as_json(self) -> dict:
        """Return the file form of the model."""
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "features": list(FEATURES),
            "weights": list(self.weights),
            "bias": self.bias,
            "means": list(self.means),
            "scales": list(self.scales),
            "thresholds": self.thresholds,
            "training": self.training,
        }

    @classmethod
    def from_json(cls, data) -> LogisticModel:
        """Return the model of a parsed file; raise ModelFileError when it does not fit this code."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ModelFileError("not a risk model file")
        if data.get("version") != FORMAT_VERSION:
            raise ModelFileError(f"model file version {data.get('version')!r}, this code reads {FORMAT_VERSION}")
        if data.get("features") != list(FEATURES):
            raise ModelFileError("the model was trained on other features than this code computes")
        try:
            n = len(FEATURES)
            weights, means, scales = (tuple(float(v) for v in data[k]) for k in ("weights", "means", "scales"))
            thresholds = {k: float(data["thresholds"][k]) for k in ("CHALLENGE", "CHALLENGE_STRONG", "DENY")}
            bias = float(data["bias"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"malformed model file ({exc})") from exc
        numbers = (*weights, *means, *scales, bias, *thresholds.values())
        if len(weights) != n or len(means) != n or len(scales) != n or not all(map(math.isfinite, numbers)):
            raise ModelFileError("malformed model file (wrong lengths or non-finite numbers)")
        if any(s <= 0 for s in scales):
            raise ModelFileError("malformed model file (scales must be positive)")
        return cls(weights, bias, means, scales, thresholds, dict(data.get("training") or {}))


def load_model(path: str | Path) -> LogisticModel:
    """Read a model file; raise ModelFileError with the reason when it cannot be used."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ModelFileError(f"{path} is not JSON ({exc})") from exc
    return LogisticModel.from_json(data)


def model_file() -> Path:
    """Return the configured model file (RISK_MODEL_FILE)."""
    return Path(conf.get("RISK_MODEL_FILE") or DEFAULT_MODEL_FILE)


@functools.cache
def configured_model() -> LogisticModel | None:
    """Return the configured model, or None (logged) when it cannot be used; cached per process."""
    path = model_file()
    try:
        return load_model(path)
    except ModelFileError as exc:
        logger.warning("risk_model_fallback: %s; using the hand-written policy", exc)
        return None


@receiver(setting_changed, dispatch_uid="risk.learned.setting_changed")
def _on_setting_changed(*, setting: str, **kwargs) -> None:
    if setting in conf.SETTING_NAMES:
        configured_model.cache_clear()


class LearnedPolicy(Policy):
    """The trained logistic regression, with the hand-written policy as fallback and for first sign-ins."""

    def __init__(self, model: LogisticModel | None = None) -> None:
        self._model = model
        self.fallback = AdaptivePolicy()

    @property
    def model(self) -> LogisticModel | None:
        return self._model if self._model is not None else configured_model()

    def decide(self, ctx, snap, signals, velocity):
        model = self.model
        if model is None or snap.n_user <= 0:
            return self.fallback.decide(ctx, snap, signals, velocity)
        cfg = conf.current()
        strict = cfg.mode == "strict"
        x, freeman = features(ctx, snap, signals)
        score = model.log_odds(x)
        floor: Decision | None = None
        for res in signals:
            if res.floor is not None:
                floor = res.floor.at_least(floor)
        decision = decision_for(score, model.thresholds).at_least(floor)
        if strict:
            decision = decision.at_least(Decision.CHALLENGE)
        breakdown = {"model": freeman.log_score, "features": freeman.features, "learned": score}
        if decision is Decision.ALLOW:
            reasons = tuple(Reason(r.code, r.text, r.weight) for r in signals if r.trust)
            return Assessment(score, decision, reasons, breakdown)
        return Assessment(score, decision, self._reasons(model, x, signals), breakdown)

    @staticmethod
    def _reasons(model: LogisticModel, x: list[float], signals) -> tuple[Reason, ...]:
        """Explain a decision: each feature that raised the log-odds, strongest first, once per reason."""
        by_code = {r.code: r for r in signals}
        weights: dict[str, float] = {}
        texts: dict[str, str] = {}
        floors: dict[str, str] = {}
        for name, value in model.contributions(x):
            if value <= 0:
                continue
            if name.startswith("signal:"):
                code = name.partition(":")[2]
                res = by_code.get(code)
                if res is None or res.trust:
                    continue
                texts[code] = res.text
                if res.floor is not None:
                    floors[code] = res.floor.value
            else:
                code = FEATURE_REASONS.get(name, "unusual_context")
                texts[code] = FEATURE_TEXTS.get(code) or REASON_TEXTS[code]
            weights[code] = weights.get(code, 0.0) + value
        for res in signals:  # a signal that set a floor is always named
            if res.floor is not None and res.code not in weights:
                weights[res.code], texts[res.code], floors[res.code] = 0.0, res.text, res.floor.value
        ordered = sorted(weights, key=lambda c: -weights[c])
        # Name what mattered: the strongest reason, and any other that added at least MIN_REASON
        # or set a floor (a feature a little above its training mean explains nothing).
        ordered = [c for i, c in enumerate(ordered) if i == 0 or weights[c] >= MIN_REASON or c in floors]
        reasons = [Reason(c, texts[c], round(weights[c], 4), floors.get(c)) for c in ordered]
        if not reasons:
            reasons.append(Reason("unusual_context", REASON_TEXTS["unusual_context"], None))
        reasons.extend(Reason(r.code, r.text, r.weight) for r in signals if r.trust)
        return tuple(reasons)
