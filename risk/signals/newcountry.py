"""A country the user has never signed in from.

The model already counts the country, at a tenth of the IP hierarchy's weight; this adds an
explicit, explainable term so that a new country alone reaches a challenge for a settled user.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from risk.model import IP_LEVELS
from risk.signals import Signal, SignalResult


class NewCountrySignal(Signal):
    """The country is not in the user's history (only for users with history)."""

    code = "new_country"
    weight = 1.5

    def __init__(self) -> None:
        self.result = SignalResult(self.code, self.weight, _("This sign-in is from a new country"))

    def evaluate(self, ctx, snap, velocity):
        if not ctx.geo.country or snap.n_user == 0 or snap.user.get((IP_LEVELS[2], ctx.geo.country), 0):
            return None
        return self.result
