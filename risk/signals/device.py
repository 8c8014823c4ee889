"""The device: a cookie seen in earlier successful sign-ins is what a password thief lacks."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from risk.decision import Decision
from risk.model import DEVICE_LEVEL
from risk.signals import Signal, SignalResult

UNKNOWN_DEVICE_TEXT = _("We don't recognise this device")


class KnownDeviceSignal(Signal):
    """A known device lowers the risk; a trusted (remembered) one lowers it more.

    Both are ``trust`` results: the policy never lets them turn a DENY into something weaker,
    and in strict mode they never replace the second factor.

    A browser without a device cookie this account has signed in with is what a password thief
    looks like. Once any earlier sign-in of the account carried a cookie:

    - while fewer than ``young_until`` of them did, such a browser is asked for a second step
      (floor CHALLENGE): a young history gives the statistical model little to tell the owner from
      someone on the same network with the same browser build (on a new site the global counts
      are mostly this user's), so the device cookie is the only evidence there is;
    - from ``weighted_after`` such sign-ins on, it also adds ``unknown_weight`` to the score (before
      that, a second browser in a user's first days is too common to push towards a strong
      challenge or a refusal); once the history is settled this bounded term is all it is, not a
      rule: cookies get cleared and phones replaced, and the model weighs the rest of the context.

    A remembered-device cookie presented from another browser than the one it was issued to (see
    ``risk.trust``) counts for nothing as trust and is itself a reason to ask: a copied cookie.
    """

    code = "known_device"
    known_weight = -2.0
    trusted_weight = -4.0
    unknown_weight = 2.0
    mismatch_weight = 2.0
    weighted_after = 3
    young_until = 10

    def __init__(self) -> None:
        # Results are immutable: build them once (this runs for every sign-in).
        self.trusted = SignalResult(
            "trusted_device", self.trusted_weight, _("You chose to remember this device"), trust=True
        )
        self.known = SignalResult(
            self.code, self.known_weight, _("You have signed in from this device before"), trust=True
        )
        self.unknown = SignalResult("unknown_device", self.unknown_weight, UNKNOWN_DEVICE_TEXT)
        self.unknown_young = self.unknown._replace(floor=Decision.CHALLENGE)
        self.unknown_new = self.unknown_young._replace(weight=0.0)
        # Whoever signs in reads the reasons: a copied cookie is told no more than a missing one
        # (the code, in the login event and the log, tells admins).
        self.mismatch = SignalResult(
            "trusted_device_mismatch", self.mismatch_weight, UNKNOWN_DEVICE_TEXT, floor=Decision.CHALLENGE
        )

    def evaluate(self, ctx, snap, velocity):
        if ctx.trusted_device:
            return self.trusted
        if ctx.trusted_device_mismatch:
            return self.mismatch
        if ctx.device_id and snap.user.get((DEVICE_LEVEL, ctx.device_key), 0):
            return self.known
        with_device = snap.profile.n_with_device
        if not with_device:
            return None  # no earlier sign-in carried a cookie: nothing to compare this one with
        if with_device >= self.young_until:
            return self.unknown
        return self.unknown_young if with_device >= self.weighted_after else self.unknown_new
