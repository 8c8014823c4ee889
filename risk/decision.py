"""Decisions of the risk engine, ordered from the weakest to the strongest response."""

from __future__ import annotations

from enum import StrEnum


class Decision(StrEnum):
    """What the login flow must do with an attempt."""

    ALLOW = "allow"
    CHALLENGE = "challenge"
    CHALLENGE_STRONG = "challenge_strong"
    DENY = "deny"

    @property
    def rank(self) -> int:
        """Return the strength of the response (ALLOW 0 ... DENY 3)."""
        return _RANK[self]

    def at_least(self, other: Decision | None) -> Decision:
        """Return the stronger of the two decisions."""
        if other is None or self.rank >= other.rank:
            return self
        return other


_RANK = {Decision.ALLOW: 0, Decision.CHALLENGE: 1, Decision.CHALLENGE_STRONG: 2, Decision.DENY: 3}
