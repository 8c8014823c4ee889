"""What one stage of a sign-in tells the later ones: named, typed fields (docs/architecture.md).

A stage keeps its own working state under its key (``PendingLogin.state_for``); what another stage
or a listener needs, it publishes here. Nothing else passes between stages, so the contract
between the apps is this class. The facts travel in the session as JSON values; ``from_json``
refuses what it does not know, and the pending login is then treated as absent.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from authsite.core.parsing import parse_round_trip_ms


class Requirement(enum.StrEnum):
    """How strong the second step of a sign-in must be."""

    ANY = "any"
    STRONG = "strong"
    PHISHING_RESISTANT = "phishing_resistant"


@dataclass(frozen=True)
class FactorRequirement:
    """Whether the sign-in needs a second step, how strong, which kinds do not count, and why."""

    required: bool
    minimum: Requirement = Requirement.ANY
    # Kinds of factor that do not count for this sign-in (e.g. text messages for a strong one).
    exclude: tuple[str, ...] = ()
    # Why the second step is asked, in plain words for the challenge page.
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "required": self.required,
            "minimum": str(self.minimum),
            "exclude": list(self.exclude),
            "reasons": list(self.reasons),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FactorRequirement:
        return cls(
            required=_bool(data["required"]),
            minimum=Requirement(data["minimum"]),
            exclude=_strings(data["exclude"]),
            reasons=_strings(data["reasons"]),
        )


@dataclass
class LoginFacts:
    """The facts of one sign-in, each set by the stage that finds it out and read by later ones."""

    # The password step: the password throttle could not be consulted (a cache outage), so the
    # password alone must not be enough.
    throttle_unavailable: bool = False
    # The password step: the round-trip time the sign-in page measured (milliseconds; None when
    # absent or absurd).
    round_trip_ms: float | None = None
    # The passkey sign-in: a passkey with user verification began it, both factors at once.
    passkey_verified: bool = False
    # The stage that assessed the attempt (the risk stage): whether the user has a second factor
    # (None: nobody looked), what the second step must be (None: no stage decided, so plain MFA
    # applies: a user with a factor is asked for it), the stored record of the attempt, whether the
    # user was emailed about it already, and whether the device may be remembered after a second step.
    has_factor: bool | None = None
    requirement: FactorRequirement | None = None
    event_id: int | None = None
    user_notified: bool = False
    can_remember_device: bool = False
    # The challenge stage (or the passkey sign-in): the kind of factor that passed, and whether
    # the user asked to remember this device.
    factor_kind: str = ""
    remember_device: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "throttle_unavailable": self.throttle_unavailable,
            "round_trip_ms": self.round_trip_ms,
            "passkey_verified": self.passkey_verified,
            "has_factor": self.has_factor,
            "requirement": self.requirement.to_json() if self.requirement is not None else None,
            "event_id": self.event_id,
            "user_notified": self.user_notified,
            "can_remember_device": self.can_remember_device,
            "factor_kind": self.factor_kind,
            "remember_device": self.remember_device,
        }

    @classmethod
    def from_json(cls, data: Any) -> LoginFacts:
        """Read facts written by ``to_json``; raise ``ValueError`` on anything else."""
        if not isinstance(data, dict) or set(data) != set(cls().to_json()):
            raise ValueError("not the login facts of this version")
        try:
            requirement = data["requirement"]
            event_id = data["event_id"]
            has_factor = data["has_factor"]
            round_trip_ms = data["round_trip_ms"]
            if round_trip_ms is not None and parse_round_trip_ms(round_trip_ms) is None:
                raise ValueError("round_trip_ms")
            if event_id is not None and (type(event_id) is not int):
                raise ValueError("event_id")
            return cls(
                throttle_unavailable=_bool(data["throttle_unavailable"]),
                round_trip_ms=None if round_trip_ms is None else float(round_trip_ms),
                passkey_verified=_bool(data["passkey_verified"]),
                has_factor=None if has_factor is None else _bool(has_factor),
                requirement=None if requirement is None else FactorRequirement.from_json(requirement),
                event_id=event_id,
                user_notified=_bool(data["user_notified"]),
                can_remember_device=_bool(data["can_remember_device"]),
                factor_kind=_string(data["factor_kind"]),
                remember_device=_bool(data["remember_device"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(str(exc)) from exc


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise ValueError(f"expected a boolean, got {value!r}")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a list of strings, got {value!r}")
    return tuple(_string(v) for v in value)
