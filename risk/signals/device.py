"""The device: a cookie seen in earlier successful sign-ins is what a password thief lacks."""

from __future__ import annotations

from risk.model import DEVICE_LEVEL
from risk.signals import Signal, SignalResult


class KnownDeviceSignal(Signal):
    """A known device lowers the risk; a trusted (remembered) one lowers it more.

    Both are ``trust`` results: the policy never lets them turn a DENY into something weaker,
    and in strict mode they never replace the second factor.

    For a user whose sign-ins normally carry a device cookie (at least ``settled_after`` of them),
    a missing or unknown cookie raises the risk: that is what a password thief looks like.
    Cookies get cleared and phones replaced, so it is a bounded term, not a rule.
    """

    code = "known_device"
    known_weight = -2.0
    trusted_weight = -4.0
    unknown_weight = 2.0
    settled_after = 3

    def __init__(self) -> None:
        # Results are immutable: build them once (this runs for every sign-in).
        self.trusted = SignalResult(
            "trusted_device", self.trusted_weight, "You chose to remember this device", trust=True
        )
        self.known = SignalResult(
            self.code, self.known_weight, "You have signed in from this device before", trust=True
        )
        self.unknown = SignalResult("unknown_device", self.unknown_weight, "We don't recognise this device")

    def evaluate(self, ctx, snap, velocity):
        if ctx.trusted_device:
            return self.trusted
        if ctx.device_id and snap.user.get((DEVICE_LEVEL, ctx.device_key), 0):
            return self.known
        if snap.profile.n_with_device >= self.settled_after:
            return self.unknown
        return None
