"""Scripted or headless clients: people sign in with browsers."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from risk.decision import Decision
from risk.signals import Signal, SignalResult


class AutomationSignal(Signal):
    """The user agent is a script, a headless browser, or missing."""

    code = "automation"
    weight = 3.0

    def evaluate(self, ctx, snap, velocity):
        if not ctx.is_automation:
            return None
        return SignalResult(
            self.code,
            self.weight,
            _("This sign-in comes from an automated tool, not a browser"),
            floor=Decision.CHALLENGE,
        )
