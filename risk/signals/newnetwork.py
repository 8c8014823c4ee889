"""A network (ASN, or IP prefix without one) the user has never signed in from.

Freeman's mixture gives the network level 0.3 of the IP hierarchy's weight, and its per-user
term spreads settled users' scores widely, so a new network alone barely moves the score. A
password thief rarely shares the owner's network; this bounded term says so explicitly.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from risk.model import IP_LEVELS
from risk.signals import Signal, SignalResult


class NewNetworkSignal(Signal):
    """The network is not in the user's history (only for users with history)."""

    code = "new_network"
    weight = 1.5

    def __init__(self) -> None:
        self.result = SignalResult(self.code, self.weight, _("This sign-in is from a network you have not used before"))

    def evaluate(self, ctx, snap, velocity):
        if not ctx.network or snap.n_user == 0 or snap.user.get((IP_LEVELS[1], ctx.network), 0):
            return None
        return self.result
