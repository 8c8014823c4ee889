"""IP reputation and hosting lists for the site: the configured files plus the lists in the database.

``risk_blocklist_load`` stores a list in the database so that every process sees it; each process
rebuilds its merged sets at most every ``RISK_BLOCKLIST_REFRESH_SECONDS`` (60). A list is of one
kind: IP reputation (abuse: FireHOL, Tor exits, CIDRs), or hosting and VPN networks (AS numbers
and CIDRs, as operators keep them; read by the hosting-network signal, risk/network_type.py).
The replay never comes here: it reads ``Is Attack IP`` from its rows and the configured files only.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from authsite.core import clock
from risk.models import IPBlocklist
from risk.signals.reputation import IPNetworkSet, get_reputation_list, parse_network_lines

_lock = threading.Lock()
_cached: tuple | None = None


def _database_sets() -> tuple:
    """The lists loaded into the database, merged by kind; rebuilt when older than the refresh interval.

    Returns (built at, reputation networks, hosting networks, hosting ASNs).
    """
    global _cached  # noqa: PLW0603  (one merged set per process)
    refresh = getattr(settings, "RISK_BLOCKLIST_REFRESH_SECONDS", 60)
    now = time.monotonic()
    cached = _cached
    if cached is not None and now - cached[0] < refresh:
        return cached
    with _lock:
        networks: list = []
        hosting_networks: list = []
        hosting_asns: set[int] = set()
        for kind, text in IPBlocklist.objects.values_list("kind", "networks"):
            if kind == IPBlocklist.HOSTING:
                asns, nets = parse_hosting_lines(text.splitlines())
                hosting_asns.update(asns)
                hosting_networks.extend(nets)
            else:
                networks.extend(parse_network_lines(text.splitlines()))
        _cached = (now, IPNetworkSet(networks), IPNetworkSet(hosting_networks), frozenset(hosting_asns))
        return _cached


def _database_lists() -> IPNetworkSet:
    """The reputation lists loaded into the database, merged."""
    return _database_sets()[1]


def site_reputation_hit(ip: str) -> bool:
    """Tell whether ``ip`` is on a configured list file or on a list loaded into the database."""
    return ip in get_reputation_list() or ip in _database_lists()


def site_hosting_hit(ip: str, asn: int | None) -> bool:
    """Tell whether ``ip`` or its ``asn`` is on a hosting list loaded into the database."""
    _, _, networks, asns = _database_sets()
    return (asn is not None and asn in asns) or (networks.size > 0 and ip in networks)


def clear_site_reputation_cache() -> None:
    global _cached  # noqa: PLW0603
    _cached = None


_ASN = re.compile(r"^(?:AS)?(\d{1,10})$", re.IGNORECASE)


def parse_hosting_lines(lines) -> tuple[set[int], list]:
    """Parse a hosting list: AS numbers (``AS16509`` or ``16509``) and CIDRs or addresses, one per line.

    The first field of a line counts (spaces, commas and tabs separate fields), so lists with a
    name column (``AS16509,Amazon``) load as they are; '#' and ';' start comments.
    """
    asns: set[int] = set()
    rest: list[str] = []
    for raw in lines:
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        token = re.split(r"[\s,]+", line, maxsplit=1)[0]
        m = _ASN.match(token)
        if m is not None and int(m.group(1)) < 2**32:
            asns.add(int(m.group(1)))
        else:
            rest.append(token)
    return asns, parse_network_lines(rest)


@dataclass(frozen=True)
class LoadResult:
    name: str
    count: int
    skipped: int
    replaced: bool


def blocklist_load(*, path: Path, name: str, kind: str = IPBlocklist.REPUTATION) -> LoadResult:
    """Parse ``path`` and store it as list ``name`` of ``kind`` (replacing a list of that name).

    Raise ValueError with a message for the operator when the file yields nothing usable, or the
    kind is unknown.
    """
    if kind not in dict(IPBlocklist.KINDS):
        raise ValueError(f"Unknown kind {kind!r}: use {' or '.join(dict(IPBlocklist.KINDS))}.")
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    content = [line.split("#", 1)[0].split(";", 1)[0].strip() for line in lines]
    if kind == IPBlocklist.HOSTING:
        asns, networks = parse_hosting_lines(lines)
        entries = [f"AS{a}" for a in sorted(asns)] + sorted({str(n) for n in networks})
        candidates = [c for c in content if c]
        if not entries:
            raise ValueError(f"{path} contains no AS number (AS16509 or 16509), IP address or network in CIDR format.")
    else:
        # Tor exit lists carry metadata lines around each ExitAddress; they are not unreadable.
        candidates = [c for c in content if c and c.split()[0] not in {"ExitNode", "Published", "LastStatus"}]
        networks = parse_network_lines(lines)
        if not networks:
            raise ValueError(f"{path} contains no IP address or network in CIDR, FireHOL or Tor exit-list format.")
        entries = sorted({str(n) for n in networks})
    with transaction.atomic():
        _, created = IPBlocklist.objects.update_or_create(
            name=name,
            defaults={
                "kind": kind,
                "source": str(path)[:255],
                "networks": "\n".join(entries),
                "count": len(entries),
                "loaded_at": clock.now(),
            },
        )
    clear_site_reputation_cache()
    return LoadResult(
        name=name, count=len(entries), skipped=max(0, len(candidates) - len(entries)), replaced=not created
    )
