"""IP reputation: blocklists (FireHOL level 1 .netset, plain CIDR lists, Tor exit lists).

:class:`IPNetworkSet` merges the networks into sorted, non-overlapping integer ranges per IP
version, so a lookup is one binary search, whatever the list size (FireHOL level 1 has ~4,500
entries, the Tor exit list ~1,500).
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import re
from collections.abc import Iterable
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from risk import conf
from risk.decision import Decision
from risk.signals import Signal, SignalResult

# check.torproject.org/exit-addresses lines look like "ExitAddress 185.220.101.1 2024-01-01 ..."
_TOR_EXIT = re.compile(r"^ExitAddress\s+(\S+)")


def parse_network_lines(
    lines: Iterable[str],
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Parse CIDRs or addresses, one per line; '#' and ';' start comments; bad lines are skipped."""
    networks = []
    for raw in lines:
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        m = _TOR_EXIT.match(line)
        token = m.group(1) if m else line.split()[0]
        if m is None and line.split()[0] in {"ExitNode", "Published", "LastStatus"}:
            continue
        try:
            networks.append(ipaddress.ip_network(token, strict=False))
        except ValueError:
            continue
    return networks


class IPNetworkSet:
    """A set of IP networks with O(log n) membership."""

    def __init__(self, networks: Iterable = ()) -> None:
        ranges: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        for item in networks:
            net = ipaddress.ip_network(item, strict=False) if isinstance(item, str) else item
            ranges[net.version].append((int(net.network_address), int(net.broadcast_address)))
        self._starts: dict[int, list[int]] = {}
        self._ends: dict[int, list[int]] = {}
        self.size = 0
        for version, items in ranges.items():
            items.sort()
            merged: list[list[int]] = []
            for start, end in items:
                if merged and start <= merged[-1][1] + 1:
                    merged[-1][1] = max(merged[-1][1], end)
                else:
                    merged.append([start, end])
            self._starts[version] = [s for s, _ in merged]
            self._ends[version] = [e for _, e in merged]
            self.size += len(merged)

    def __contains__(self, ip) -> bool:
        try:
            addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
        except ValueError:
            return False
        if addr.version == 6 and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        starts = self._starts[addr.version]
        value = int(addr)
        i = bisect.bisect_right(starts, value) - 1
        return i >= 0 and value <= self._ends[addr.version][i]

    def __len__(self) -> int:
        return self.size

    @classmethod
    def from_files(cls, paths: Iterable[str | Path]) -> IPNetworkSet:
        """Load and merge list files."""
        networks = []
        for path in paths:
            with open(path, encoding="utf-8", errors="replace") as fh:
                networks.extend(parse_network_lines(fh))
        return cls(networks)


@functools.cache
def get_reputation_list() -> IPNetworkSet:
    """Return the merged lists of RISK_IP_REPUTATION_FILES (cached; cleared on settings change)."""
    return IPNetworkSet.from_files(conf.get("RISK_IP_REPUTATION_FILES") or [])


class IPReputationSignal(Signal):
    """The address is on a blocklist (or, in replay, the row says ``Is Attack IP``).

    Lists produce false positives (shared NAT, recycled addresses), so this is one bounded term
    plus a challenge, never a block on its own.
    """

    code = "ip_reputation"
    weight = 3.0

    def __init__(self, networks: IPNetworkSet | None = None) -> None:
        self._networks = networks

    @property
    def networks(self) -> IPNetworkSet:
        return self._networks if self._networks is not None else get_reputation_list()

    def evaluate(self, ctx, snap, velocity):
        if ctx.ip_reputation_hit:
            return self._hit()
        # The size rather than len(): this runs for every sign-in, mostly against an empty list.
        networks = self.networks
        if networks.size and ctx.ip in networks:
            return self._hit()
        return None

    def _hit(self) -> SignalResult:
        return SignalResult(
            self.code,
            self.weight,
            _("This sign-in comes from a network address known for abuse"),
            floor=Decision.CHALLENGE,
            network=True,
        )
