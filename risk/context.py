"""The context of one sign-in attempt, built from plain values (no request).

The request-level builder (trusted-proxy client IP, cookies) lives with the login flow and calls
:func:`context_from_parts`.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime

from authsite.core.clientip import canonical_ip_or_none
from authsite.core.parsing import parse_round_trip_ms
from authsite.core.ua import ParsedUA, parse_ua
from risk.geo import GeoResult, network_prefixes


@dataclass(frozen=True, slots=True)
class LoginContext:
    """Everything the engine knows about one sign-in attempt."""

    user_id: int | str
    ip: str
    timestamp: datetime
    user_agent: str = ""
    browser: str = ""  # name + major version, e.g. "Chrome 120"
    os: str = ""  # name + version, e.g. "iOS 17.1"
    device_type: str = "unknown"
    is_automation: bool = False
    # What GeoIP knows of the address (every field may be missing); read-only by contract.
    geo: GeoResult = field(default_factory=GeoResult, hash=False)
    network: str | None = None  # "AS64500", or an IP prefix when the ASN is unknown
    device_id: str | None = None  # opaque device-cookie value, never stored in the clear
    trusted_device: bool = False
    # A remembered-device cookie of this user was presented from another browser or device cookie.
    trusted_device_mismatch: bool = False
    ip_reputation_hit: bool = False
    # The address or its ASN is on a hosting list loaded by the operator (risk_blocklist_load).
    hosting_listed: bool = False
    round_trip_ms: float | None = None
    # False when this way of signing in has no page that measures the round-trip time (a passkey
    # sign-in): the feature is then left out, neither scored nor learned.
    rtt_applicable: bool = True
    # A digest of device_id, the form in which it is counted and stored (set from device_id).
    device_key: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.device_id:
            object.__setattr__(self, "device_key", device_digest(self.device_id))

    @property
    def ip_levels(self) -> tuple[str | None, str | None, str | None]:
        """Return the IP hierarchy: address -> network (ASN) -> country."""
        return (self.ip or None, self.network, self.geo.country)

    @property
    def ua_levels(self) -> tuple[str | None, str | None, str | None, str | None]:
        """Return the user-agent hierarchy: string -> browser+version -> OS+version -> type."""
        return (self.user_agent or None, self.browser or None, self.os or None, self.device_type or None)

    @property
    def rtt_levels(self) -> tuple[str | None, str | None]:
        """Return the round-trip-time hierarchy: fine bucket -> coarse bucket ("?" when unknown;
        None when the feature does not apply to this sign-in)."""
        return rtt_buckets(self.round_trip_ms) if self.rtt_applicable else (None, None)

    @property
    def has_location(self) -> bool:
        """Return whether coordinates are known."""
        return self.geo.latitude is not None and self.geo.longitude is not None


@functools.lru_cache(maxsize=65536)
def device_digest(device_id: str) -> str:
    """Return the digest under which a device id is counted and stored (cached: ids repeat)."""
    return hashlib.blake2b(device_id.encode(), digest_size=16).hexdigest()


# Round-trip times are compared on a log scale, since jitter grows with the latency itself: fine
# buckets 25% wide, coarse ones a factor of 2 (docs/risk-model.md, "Round-trip time").
_RTT_FINE = math.log(1.25)
_RTT_COARSE = math.log(2.0)
RTT_UNKNOWN = ("?", "?")


def rtt_buckets(round_trip_ms: float | None) -> tuple[str, str]:
    """Return the fine and coarse bucket labels of a round-trip time; ``RTT_UNKNOWN`` for None."""
    if round_trip_ms is None:
        return RTT_UNKNOWN
    log = math.log(round_trip_ms)
    return (f"f{math.floor(log / _RTT_FINE)}", f"c{math.floor(log / _RTT_COARSE)}")


def network_label(ip: str, asn: int | None) -> str | None:
    """Return the network level of the IP hierarchy: the ASN, or the /16 (/48) without one."""
    if asn is not None:
        return f"AS{asn}"
    try:
        return network_prefixes(ip)[1]
    except ValueError:
        return None


def context_from_parts(
    *,
    user_id: int | str,
    ip: str,
    user_agent: str | None,
    timestamp: datetime,
    geo: GeoResult | None = None,
    device_id: str | None = None,
    trusted_device: bool = False,
    trusted_device_mismatch: bool = False,
    ip_reputation_hit: bool = False,
    hosting_listed: bool = False,
    round_trip_ms: float | None = None,
    rtt_applicable: bool = True,
    parsed_ua: ParsedUA | None = None,
) -> LoginContext:
    """Build a :class:`LoginContext` from plain values.

    ``timestamp`` must be timezone-aware. ``geo`` is a GeoIP lookup result (or None); pass
    ``parsed_ua`` to override what the parser makes of ``user_agent``. An absent or absurd
    ``round_trip_ms`` becomes None (unknown).
    """
    if timestamp.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    ip = (ip or "").strip()
    if ":" in ip:  # only IPv6 text needs canonicalising (and IPv4-mapped unwrapping)
        ip = canonical_ip_or_none(ip) or ip
    ua = user_agent or ""
    parsed = parsed_ua or parse_ua(ua)
    geo = geo or GeoResult()
    return LoginContext(
        user_id=user_id,
        ip=ip,
        timestamp=timestamp,
        user_agent=ua,
        browser=parsed.browser,
        os=parsed.os,
        device_type=parsed.device_type,
        is_automation=parsed.is_automation,
        geo=geo,
        network=f"AS{geo.asn}" if geo.asn is not None else network_label(ip, None),
        device_id=device_id,
        trusted_device=trusted_device,
        trusted_device_mismatch=trusted_device_mismatch,
        ip_reputation_hit=ip_reputation_hit,
        hosting_listed=hosting_listed,
        round_trip_ms=parse_round_trip_ms(round_trip_ms),
        rtt_applicable=rtt_applicable,
    )
