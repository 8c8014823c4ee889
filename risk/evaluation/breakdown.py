"""Figures of one replay per attacker type and for settled users (the table of the README).

:class:`Breakdown` is the replay's ``on_scored`` callback: it reads the trace's ``Attacker Type``
column (written by the simulators, ignored by the replay contract) only after the row is scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from risk.decision import Decision
from risk.evaluation.replay import ScoreHistogram, roc_auc

ATTACKER_TYPES = ("naive", "vpn", "targeted", "very_targeted")
SETTLED = 10  # "legitimate users with 10+ earlier sign-ins"


@dataclass
class _Kind:
    n: int = 0
    caught: int = 0
    denied: int = 0
    hist: ScoreHistogram = field(default_factory=ScoreHistogram)


@dataclass
class Breakdown:
    """Challenge and deny rates of settled legitimate users; catch rate and AUC per attacker type."""

    settled: int = 0
    settled_challenged: int = 0
    settled_denied: int = 0
    legit: ScoreHistogram = field(default_factory=ScoreHistogram)
    kinds: dict = field(default_factory=lambda: {t: _Kind() for t in ATTACKER_TYPES})
    reasons: dict = field(default_factory=dict)  # settled legitimate challenges by reason code

    def __call__(self, row, col, result, n_before, is_ato) -> None:
        decision = result.decision
        if is_ato:
            i = col.get("Attacker Type")
            kind = self.kinds.setdefault(row[i] if i is not None else "unknown", _Kind())
            kind.n += 1
            kind.hist.add(result.score)
            if decision is not Decision.ALLOW:
                kind.caught += 1
            if decision is Decision.DENY:
                kind.denied += 1
            return
        self.legit.add(result.score)
        if n_before < SETTLED:
            return
        self.settled += 1
        if decision is Decision.DENY:
            self.settled_denied += 1
        elif decision is not Decision.ALLOW:
            self.settled_challenged += 1
            for r in result.reasons:
                if r.raises_risk:
                    self.reasons[r.code] = self.reasons.get(r.code, 0) + 1

    def auc(self, kind: str) -> float | None:
        """Return the ROC AUC of one attacker type's scores against every legitimate sign-in's."""
        return roc_auc(self.kinds[kind].hist, self.legit) if kind in self.kinds else None

    def rates(self) -> dict:
        """Return the table's figures as numbers (None where a class is empty)."""

        def share(a: int, b: int) -> float | None:
            return a / b if b else None

        out = {
            "settled": self.settled,
            "settled_challenged": share(self.settled_challenged, self.settled),
            "settled_denied": share(self.settled_denied, self.settled),
        }
        for name, kind in self.kinds.items():
            out[name] = {"n": kind.n, "caught": share(kind.caught, kind.n), "auc": self.auc(name)}
        return out
