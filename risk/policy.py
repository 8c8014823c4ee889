"""From model score and signals to a decision: the single entry points ``assess`` and ``learn``.

Score = ln S_u(x) (Freeman) + bounded network term (reputation + hosting, at most
``network_cap``) + other signal terms + trust terms (known/trusted device, negative).
Thresholds (RISK_THRESHOLDS) map the score to ALLOW / CHALLENGE / CHALLENGE_STRONG / DENY;
signals may set a floor. Trust terms never turn a DENY into something weaker.

Modes (RISK_MODE): ``adaptive`` (default) and ``strict`` (every sign-in at least CHALLENGE; risk
only raises the strength or denies; a trusted device never replaces the factor).

First sign-in (no history): the model cannot score it. RISK_FIRST_LOGIN decides (default
CHALLENGE in adaptive mode): an attacker holding a password for an account whose owner never
signed in gets no free pass, and a new user proves the factor they just enrolled works.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import NamedTuple

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from risk import conf
from risk.decision import Decision
from risk.loading import get_policy, get_signals
from risk.model import IP_LEVELS, UA_LEVELS, CountsSnapshot, ModelScore, freeman_score
from risk.velocity import ZERO, VelocityCounts

logger = logging.getLogger(__name__)
_ALLOW, _DENY = Decision.ALLOW, Decision.DENY

REASON_TEXTS = {
    "first_login": _("This is the first sign-in we have seen for this account"),
    "new_device": _("We don't recognise this device"),
    "new_network": _("This sign-in is from a network you have not used before"),
    "unusual_context": _("This sign-in does not look like your usual ones"),
    "engine_error": _("We could not check this sign-in, so we ask for more proof"),
    "strict_mode": _("This site always asks for a second factor"),
}


def reason_msgid(text) -> str:
    """Return a reason's text as the code writes it (English): the form stored with an event and
    in a pending sign-in, which each page translates when it shows it (``gettext``)."""
    with translation.override(None):
        return str(text)


def reason_raises_risk(weight: float | None, floor: str | None = None) -> bool:
    """Whether a reason of this weight argues for asking more: a positive one, one that set a floor
    under the decision (whatever it added to the score), or one whose weight is not known (events
    stored before weights were, ``strict_mode``, ``engine_error``)."""
    if floor:
        return True
    return weight > 0 if isinstance(weight, int | float) else True


def reason_texts(reasons) -> list[str]:
    """Return the distinct texts of the reasons that argued for asking more, in order.

    ``reasons`` are :class:`Reason` objects or their stored dicts. Two codes can share one text
    (``new_device`` from the model and ``unknown_device`` from the device cookie both read "We
    don't recognise this device"): a person is told each thing once.
    """
    texts: list[str] = []
    for r in reasons:
        if isinstance(r, Reason):
            text, raises = reason_msgid(r.text), r.raises_risk
        elif isinstance(r, dict):
            text, raises = r.get("text"), reason_raises_risk(r.get("weight"), r.get("floor"))
        else:
            continue
        if raises and isinstance(text, str) and text and text not in texts:
            texts.append(text)
    return texts


class Reason(NamedTuple):
    """A reason code, its plain-language text, and how much it added to the score.

    ``weight`` is the reason's contribution in the score's units (log-odds): a rule signal's
    weight (negative for trust; the network terms are capped together, see ``network_cap``),
    the log-likelihood ratio of the model's feature for ``new_device`` (user agent) and
    ``new_network`` (IP address), the score given to a sign-in without history for
    ``first_login``, and the whole model score for ``unusual_context``. None when the reason adds
    nothing of its own (``strict_mode``, ``engine_error``). ``floor`` is the weakest decision the
    reason allowed (a rule signal's floor), if it set one.
    """

    code: str
    text: str
    weight: float | None = None
    floor: str | None = None

    @property
    def raises_risk(self) -> bool:
        """Whether this reason argues for asking more (a trust reason such as ``known_device`` does not)."""
        return reason_raises_risk(self.weight, self.floor)

    def as_dict(self) -> dict:
        """Return the JSON form stored with a login event: code, text, weight and floor when known."""
        data = {"code": self.code, "text": reason_msgid(self.text)}
        if self.weight is not None:
            data["weight"] = self.weight
        if self.floor is not None:
            data["floor"] = self.floor
        return data


@dataclass(frozen=True, slots=True)
class Assessment:
    """The result of assessing one attempt."""

    score: float
    decision: Decision
    reasons: tuple[Reason, ...] = ()
    breakdown: dict = field(default_factory=dict)

    @property
    def reason_codes(self) -> tuple[str, ...]:
        """Return just the codes."""
        return tuple(r.code for r in self.reasons)


def decision_for(score: float, thresholds: dict[str, float]) -> Decision:
    """Return the decision whose threshold ``score`` reaches."""
    if score >= thresholds["DENY"]:
        return Decision.DENY
    if score >= thresholds["CHALLENGE_STRONG"]:
        return Decision.CHALLENGE_STRONG
    if score >= thresholds["CHALLENGE"]:
        return Decision.CHALLENGE
    return Decision.ALLOW


def first_login_score(base: Decision, thresholds: dict[str, float]) -> float:
    """Return the score of a sign-in without history: its decision's threshold, or one below
    CHALLENGE when first sign-ins are allowed (signal terms are added on top)."""
    if base is Decision.ALLOW:
        return thresholds["CHALLENGE"] - 1.0
    return thresholds[base.name]


def model_reasons(model: ModelScore, ctx, snap: CountsSnapshot) -> list[Reason]:
    """Explain the model score: which parts of the context are new for this user.

    Each reason weighs the log-likelihood ratio of its feature (``model.features``).
    """
    reasons = []
    user = snap.user
    features = model.features
    if "ua" in features and not any(
        user.get((level, value)) for level, value in zip(UA_LEVELS[:2], ctx.ua_levels[:2], strict=True)
    ):
        reasons.append(Reason("new_device", REASON_TEXTS["new_device"], features["ua"].log_ratio))
    if "ip" in features and not any(
        user.get((level, value)) for level, value in zip(IP_LEVELS[:2], ctx.ip_levels[:2], strict=True)
    ):
        reasons.append(Reason("new_network", REASON_TEXTS["new_network"], features["ip"].log_ratio))
    return reasons


class Policy:
    """Base class of policies (RISK_POLICY)."""

    uses_signals = True

    def decide(self, ctx, snap: CountsSnapshot, signals: list, velocity: VelocityCounts) -> Assessment:
        """Return the assessment of one attempt."""
        raise NotImplementedError


class AdaptivePolicy(Policy):
    """Freeman score plus bounded rule signals, thresholds, floors, modes."""

    network_cap = 4.0

    def decide(self, ctx, snap, signals, velocity):
        cfg = conf.current()
        thresholds = snap.thresholds or cfg.thresholds
        strict = cfg.mode == "strict"
        floor: Decision | None = None
        net = other = trust = 0.0
        for res in signals:
            if res.floor is not None:
                floor = res.floor.at_least(floor)
            if res.trust:
                trust += res.weight
            elif res.network:
                net += res.weight
            else:
                other += res.weight
        net = min(net, self.network_cap)
        breakdown: dict = {
            "network": net,
            "signals": other,
            "trust": trust,
            "history": snap.n_user,
            "challenge_threshold": thresholds["CHALLENGE"],
        }
        model = None
        base_score = None  # what stands in for the model's score on a first sign-in
        if snap.n_user <= 0:
            base = Decision(cfg.first_login)
            base_score = first_login_score(base, thresholds)
            raw = base_score + net + other
            floor = base.at_least(floor)
            breakdown["model"] = None
        else:
            model = freeman_score(ctx, snap, unseen_factor=cfg.unseen_factor)
            raw = model.log_score + net + other
            breakdown["model"] = model.log_score
            breakdown["features"] = model.features
        untrusted = decision_for(raw, thresholds).at_least(floor)
        score = raw + (0.0 if strict else trust)
        if untrusted is _DENY:
            decision = _DENY  # trust never overrides a DENY
        else:
            decision = decision_for(score, thresholds).at_least(floor)
        if decision is _ALLOW and not strict:
            # An allowed sign-in only explains what vouched for it.
            reasons = tuple([Reason(r.code, r.text, r.weight) for r in signals if r.trust])
            return Assessment(score, decision, reasons, breakdown)
        reasons = self._reasons(ctx, snap, model, signals, decision, strict, base_score)
        if strict:
            decision = decision.at_least(Decision.CHALLENGE)
        return Assessment(score, decision, tuple(reasons), breakdown)

    @staticmethod
    def _reasons(ctx, snap, model, signals, decision, strict, base_score) -> list[Reason]:  # noqa: PLR0917
        reasons = [
            Reason(r.code, r.text, r.weight, r.floor.value if r.floor is not None else None)
            for r in signals
            if r.weight > 0 or r.floor is not None
        ]
        if model is None:
            reasons.insert(0, Reason("first_login", REASON_TEXTS["first_login"], base_score))
        elif decision is not _ALLOW:
            known = {r.code for r in reasons}
            reasons = [r for r in model_reasons(model, ctx, snap) if r.code not in known] + reasons
        if strict and decision is _ALLOW:
            reasons.append(Reason("strict_mode", REASON_TEXTS["strict_mode"]))
        if not reasons:
            weight = model.log_score if model is not None else None
            reasons.append(Reason("unusual_context", REASON_TEXTS["unusual_context"], weight))
        if decision is not _DENY:
            reasons.extend(Reason(r.code, r.text, r.weight) for r in signals if r.trust)
        return reasons


class FreemanPolicy(Policy):
    """The plain Freeman et al. baseline: model score and thresholds, no signals."""

    uses_signals = False

    def decide(self, ctx, snap, signals, velocity):
        cfg = conf.current()
        thresholds = snap.thresholds or cfg.thresholds
        if snap.n_user <= 0:
            base = Decision(cfg.first_login)
            score = first_login_score(base, thresholds)
            return Assessment(
                score, base, (Reason("first_login", REASON_TEXTS["first_login"], score),), {"model": None}
            )
        model = freeman_score(ctx, snap, unseen_factor=cfg.unseen_factor)
        decision = decision_for(model.log_score, thresholds)
        reasons = model_reasons(model, ctx, snap) if decision is not Decision.ALLOW else []
        if decision is not Decision.ALLOW and not reasons:
            reasons.append(Reason("unusual_context", REASON_TEXTS["unusual_context"], model.log_score))
        return Assessment(
            model.log_score, decision, tuple(reasons), {"model": model.log_score, "features": model.features}
        )


def assess(
    context,
    store,
    velocity=None,
    *,
    policy: Policy | None = None,
    signals=None,
    fail_closed: bool = True,
    thresholds=None,
) -> Assessment:
    """Assess one sign-in attempt against the user's history.

    ``store`` is a :class:`risk.store.CountStore`; ``velocity`` a
    :class:`risk.velocity.VelocityStore`
    (or None). ``thresholds`` gives the thresholds per band of history (``for_history(n)``, e.g.
    a :class:`risk.thresholds.ThresholdTable`); None means the fixed RISK_THRESHOLDS. On any
    failure of the engine (a store or GeoIP error) the result is
    CHALLENGE_STRONG with reason ``engine_error``: fail closed, never a silent pass.
    """
    try:
        policy = policy or get_policy()
        snap = store.snapshot_for(context)
        if thresholds is not None:
            snap.thresholds = thresholds.for_history(snap.n_user)
        counts = velocity.counts(context.user_id, context.ip, context.timestamp) if velocity is not None else ZERO
        results = []
        if policy.uses_signals:
            for signal in get_signals() if signals is None else signals:
                res = signal.evaluate(context, snap, counts)
                if res is not None:
                    results.append(res)
        return policy.decide(context, snap, results, counts)
    except Exception:
        if not fail_closed:
            raise
        logger.exception("risk assessment failed; failing closed")
        return Assessment(
            float("inf"),
            Decision.CHALLENGE_STRONG,
            (Reason("engine_error", REASON_TEXTS["engine_error"]),),
            {"error": True},
        )


def learn(context, store, velocity=None) -> None:
    """Learn a successful sign-in: count it into the user's profile, reset account failures."""
    store.learn(context)
    if velocity is not None:
        velocity.record_success(context.user_id, context.ip, context.timestamp)
