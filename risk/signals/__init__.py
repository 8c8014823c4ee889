"""Rule signals: what the statistical model does not capture (docs/risk-model.md).

Each signal is a small class whose ``evaluate(context, snapshot, velocity)`` returns a
:class:`SignalResult` or None. Signals are pure: everything they read is passed in.
"""

from __future__ import annotations

from typing import NamedTuple

from risk.decision import Decision


class SignalResult(NamedTuple):
    """One signal's verdict.

    ``weight`` is added to the score (log-odds; negative lowers the risk). ``floor`` is the
    weakest decision this signal allows. ``trust`` marks a risk-lowering signal that must never
    turn a DENY into something weaker. ``network`` marks the bounded reputation/hosting terms.
    """

    code: str
    weight: float
    text: str
    floor: Decision | None = None
    trust: bool = False
    network: bool = False


class Signal:
    """Base class of signals (RISK_SIGNALS)."""

    code = ""

    def evaluate(self, ctx, snap, velocity) -> SignalResult | None:
        """Return this signal's result for the attempt, or None when it has nothing to say."""
        raise NotImplementedError
