"""Sign-in histories for the benches: generated contexts, learned in memory, written in bulk.

A history of 100,000 sign-ins learned one by one through ``DatabaseCountStore.learn`` costs
about 20 queries a sign-in (minutes per user). The model and the signals read only counts, so the
bench learns the same contexts with ``MemoryCountStore.learn`` (the same keys and the same
arithmetic as the database store: one per-user count per level value and device key, one global
count per model key, totals and distinct values per level, the user's login stats) and writes the
result with ``bulk_create`` as the rows ``DatabaseCountStore.learn`` would have left behind:
same ``value_hash``, counts, ``last_seen`` (time of the last sign-in with that value), global
totals and the two ``__users__`` pseudo levels. tests/risk/test_bench_history.py checks that the
two paths leave identical tables for the same contexts.
"""

from __future__ import annotations

import ipaddress
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from risk.store import USERS_LEVEL, MemoryCountStore, learn_keys, value_hash


class BulkHistory:
    """A MemoryCountStore plus the ``last_seen`` of every per-user key, written out in bulk."""

    def __init__(self) -> None:
        self.mem = MemoryCountStore()
        self.last_seen: dict = {}  # (user_id, (level, value)) -> datetime

    def learn(self, ctx) -> None:
        self.mem.learn(ctx)
        keys, device = learn_keys(ctx)
        for key in keys + ([device] if device else []):
            self.last_seen[(ctx.user_id, key)] = ctx.timestamp

    def write(self, *, batch_size: int = 5000) -> int:
        """Insert the learned counts into the risk tables (assumed empty); return the row count."""
        from django.db import transaction

        from risk.models import GlobalFeatureCount, GlobalLevelStats, UserFeatureCount, UserLoginStats

        mem = self.mem
        user_rows = [
            UserFeatureCount(
                user_id=uid,
                level=level,
                value_hash=value_hash(level, value),
                count=count,
                last_seen=self.last_seen[(uid, (level, value))],
            )
            for uid, state in mem.users.items()
            for (level, value), count in state.counts.items()
        ]
        glob_rows = [
            GlobalFeatureCount(level=level, value_hash=value_hash(level, value), value=value[:255], count=count)
            for (level, value), count in mem.glob.items()
        ]
        level_rows = [
            GlobalLevelStats(level=level, total=total, distinct=mem.distinct.get(level, 0))
            for level, total in mem.totals.items()
        ]
        level_rows.append(GlobalLevelStats(level=USERS_LEVEL + "logins", total=mem.n_total, distinct=0))
        level_rows.append(GlobalLevelStats(level=USERS_LEVEL, total=0, distinct=len(mem.users)))
        stats_rows = [
            UserLoginStats(
                user_id=uid,
                n_success=p.n_success,
                n_with_device=p.n_with_device,
                last_success_at=p.last_success_at,
                last_latitude=p.last_latitude,
                last_longitude=p.last_longitude,
                last_accuracy_km=p.last_accuracy_km,
                last_country=p.last_country or "",
            )
            for uid, state in mem.users.items()
            for p in (state.profile,)
        ]
        with transaction.atomic():
            for model, rows in (
                (UserFeatureCount, user_rows),
                (GlobalFeatureCount, glob_rows),
                (GlobalLevelStats, level_rows),
                (UserLoginStats, stats_rows),
            ):
                model.objects.bulk_create(rows, batch_size=batch_size)
        return len(user_rows) + len(glob_rows) + len(level_rows) + len(stats_rows)


# --- generated histories -------------------------------------------------------------------------
HOME_NET = "192.0.2.0/24"  # demo: Oslo, AS64500 (broadband)
MOBILE_NET = "198.51.100.0/24"  # demo: Sao Paulo, AS64501 (telecom)
HOSTING_NET = "203.0.113.0/24"  # demo: Sydney, AS16509 (hosting)


@dataclass
class Persona:
    """The places, browsers and devices one user signs in from, with how often."""

    ips: list[str]
    ip_weights: list[float]
    uas: list[str]
    ua_weights: list[float]
    devices: list[str]
    device_share: float = 0.9  # share of sign-ins that carry the device cookie
    device_weights: list[float] = field(default_factory=list)


def _zipf(n: int) -> list[float]:
    return [1.0 / (rank + 1) for rank in range(n)]


def make_persona(uid: int, n_logins: int, browser_uas: list[str], rng: random.Random) -> Persona:
    """A realistic mix: distinct values grow slowly with the history size.

    IPs: 20 + 3 sqrt(n) (100 -> 50, 10,000 -> 320, 100,000 -> 968) spread over the home
    broadband /24, the mobile carrier /24 (both in the demo GeoIP ranges, shared with every
    user) and four private-to-the-user /16s outside them (no GeoIP: the network level is the /16).
    User agents: 4 + sqrt(n)/4 (6, 29, 83), browser updates over the years. Devices: 2 + log2 n.
    """
    k_ip = min(n_logins, 20 + int(3 * math.sqrt(n_logins)))
    home = [str(ip) for ip in ipaddress.ip_network(HOME_NET).hosts()]
    mobile = [str(ip) for ip in ipaddress.ip_network(MOBILE_NET).hosts()]
    ips = rng.sample(home, min(len(home) - 20, max(1, int(0.4 * k_ip))))
    ips += rng.sample(mobile, min(len(mobile) - 20, max(1, int(0.3 * k_ip))))
    nets = [(100, 64 + (uid * 4 + j) % 64) for j in range(4)]
    while len(ips) < k_ip:
        a, b = rng.choice(nets)
        ips.append(f"{a}.{b}.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
    ips = list(dict.fromkeys(ips))
    rng.shuffle(ips)
    k_ua = min(n_logins, 4 + int(math.sqrt(n_logins) / 4))
    uas = rng.sample(browser_uas, k_ua)
    k_dev = min(n_logins, 2 + int(math.log2(max(n_logins, 2))))
    devices = [f"dev-{uid}-{j}-{rng.getrandbits(64):016x}" for j in range(k_dev)]
    return Persona(ips, _zipf(len(ips)), uas, _zipf(len(uas)), devices, 0.9, _zipf(len(devices)))


class ContextFactory:
    """Build contexts the way the login flow does: GeoIP lookup, parsed UA, device cookie."""

    def __init__(self) -> None:
        from risk.geo import lookup

        self._lookup = lookup
        self._geo: dict = {}

    def geo(self, ip: str):
        if ip not in self._geo:
            self._geo[ip] = self._lookup(ip)
        return self._geo[ip]

    def __call__(self, uid, ip: str, ua: str, at: datetime, device_id: str | None):
        from risk.context import context_from_parts

        return context_from_parts(
            user_id=uid, ip=ip, user_agent=ua, timestamp=at, geo=self.geo(ip), device_id=device_id
        )


def history(uid, persona: Persona, n_logins: int, *, end: datetime, span: timedelta, rng, make):
    """Yield ``n_logins`` successful sign-in contexts of one user, oldest first, ending at ``end``."""
    step = span / n_logins
    ips = rng.choices(persona.ips, persona.ip_weights, k=n_logins)
    uas = rng.choices(persona.uas, persona.ua_weights, k=n_logins)
    devs = rng.choices(persona.devices, persona.device_weights, k=n_logins)
    for i in range(n_logins):
        at = end - step * (n_logins - i)
        dev = devs[i] if rng.random() < persona.device_share else None
        yield make(uid, ips[i], uas[i], at, dev)
