"""IP reputation for the site: the configured files plus the lists loaded into the database.

``risk_blocklist_load`` stores a list in the database so that every process sees it; each process
rebuilds its merged set at most every ``RISK_BLOCKLIST_REFRESH_SECONDS`` (60). The replay never
comes here: it reads ``Is Attack IP`` from its rows and the configured files only.
"""

from __future__ import annotations

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
_cached: tuple[float, IPNetworkSet] | None = None


def _database_lists() -> IPNetworkSet:
    """The lists loaded into the database, merged; rebuilt when older than the refresh interval."""
    global _cached  # noqa: PLW0603  (one merged set per process)
    refresh = getattr(settings, "RISK_BLOCKLIST_REFRESH_SECONDS", 60)
    now = time.monotonic()
    cached = _cached
    if cached is not None and now - cached[0] < refresh:
        return cached[1]
    with _lock:
        networks: list = []
        for text in IPBlocklist.objects.values_list("networks", flat=True):
            networks.extend(parse_network_lines(text.splitlines()))
        _cached = (now, IPNetworkSet(networks))
        return _cached[1]


def site_reputation_hit(ip: str) -> bool:
    """Tell whether ``ip`` is on a configured list file or on a list loaded into the database."""
    return ip in get_reputation_list() or ip in _database_lists()


def clear_site_reputation_cache() -> None:
    global _cached  # noqa: PLW0603
    _cached = None


@dataclass(frozen=True)
class LoadResult:
    name: str
    count: int
    skipped: int
    replaced: bool


def blocklist_load(*, path: Path, name: str) -> LoadResult:
    """Parse ``path`` and store it as list ``name`` (replacing a list of that name).

    Raise ValueError with a message for the operator when the file yields no network at all.
    """
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    content = [line.split("#", 1)[0].split(";", 1)[0].strip() for line in lines]
    # Tor exit lists carry metadata lines around each ExitAddress; they are not unreadable.
    candidates = [c for c in content if c and c.split()[0] not in {"ExitNode", "Published", "LastStatus"}]
    networks = parse_network_lines(lines)
    if not networks:
        raise ValueError(f"{path} contains no IP address or network in CIDR, FireHOL or Tor exit-list format.")
    text = "\n".join(sorted({str(n) for n in networks}))
    with transaction.atomic():
        _, created = IPBlocklist.objects.update_or_create(
            name=name,
            defaults={"source": str(path)[:255], "networks": text, "count": len(networks), "loaded_at": clock.now()},
        )
    clear_site_reputation_cache()
    return LoadResult(name=name, count=len(networks), skipped=len(candidates) - len(networks), replaced=not created)
