"""Failure counters for the velocity signals: per account, per IP, and accounts per IP.

Failures are counted in fixed windows (RISK_VELOCITY["WINDOW_SECONDS"]) that start at the first
failure; an account's count is reset by a successful sign-in. The account's *consecutive*
failures (NIST SP 800-63B limits them to 100) are counted apart, without a window: only a
successful sign-in resets them (the cache keeps them for ``CONSECUTIVE_TTL``), so guesses spread
out slowly still reach the limit. Two implementations: in memory (replay, tests) and the Django cache
(shared between processes when the cache is Redis).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from risk import conf

_SPRAY_CAP = 64  # remember at most this many accounts per IP: the signal only needs ">= N"
CONSECUTIVE_TTL = 90 * 24 * 3600  # a cache entry of consecutive failures outlives any attack


@dataclass(frozen=True, slots=True)
class VelocityCounts:
    """Failures in the current window before this attempt."""

    account_failures: int = 0
    ip_failures: int = 0
    ip_accounts: int = 0  # distinct accounts that failed from this IP
    account_consecutive: int = 0  # the account's failures since its last success, in any window


ZERO = VelocityCounts()


class VelocityStore:
    """The interface of a velocity store."""

    def record_failure(self, user_id, ip: str, at: datetime) -> None:
        """Count a failed attempt (wrong password, failed or refused challenge)."""
        raise NotImplementedError

    def record_success(self, user_id, ip: str, at: datetime) -> None:
        """Reset the account's consecutive failures."""
        raise NotImplementedError

    def counts(self, user_id, ip: str, at: datetime) -> VelocityCounts:
        """Return the failures in the current windows."""
        raise NotImplementedError


class MemoryVelocityStore(VelocityStore):
    """Windows in dicts; expired entries are pruned now and then, so memory stays flat."""

    def __init__(self, window_seconds: int | None = None) -> None:
        self.window = float(window_seconds or conf.velocity()["WINDOW_SECONDS"])
        self.accounts: dict = {}  # user -> [start, count]
        self.ips: dict = {}  # ip -> [start, count, set(users)]
        self.consecutive: dict = {}  # user -> failures since the last success
        self._ops = 0

    def _prune(self, now: float) -> None:
        horizon = now - self.window
        self.accounts = {k: v for k, v in self.accounts.items() if v[0] > horizon}
        self.ips = {k: v for k, v in self.ips.items() if v[0] > horizon}

    def record_failure(self, user_id, ip, at) -> None:
        now = at.timestamp()
        self._ops += 1
        if self._ops % 10000 == 0:
            self._prune(now)
        acc = self.accounts.get(user_id)
        if acc is None or now - acc[0] > self.window:
            self.accounts[user_id] = [now, 1]
        else:
            acc[1] += 1
        self.consecutive[user_id] = self.consecutive.get(user_id, 0) + 1
        entry = self.ips.get(ip)
        if entry is None or now - entry[0] > self.window:
            self.ips[ip] = [now, 1, {user_id}]
        else:
            entry[1] += 1
            if len(entry[2]) < _SPRAY_CAP:
                entry[2].add(user_id)

    def record_success(self, user_id, ip, at) -> None:
        self.accounts.pop(user_id, None)
        self.consecutive.pop(user_id, None)

    def counts(self, user_id, ip, at) -> VelocityCounts:
        now = at.timestamp()
        acc = self.accounts.get(user_id)
        a = acc[1] if acc is not None and now - acc[0] <= self.window else 0
        c = self.consecutive.get(user_id, 0)
        entry = self.ips.get(ip)
        if entry is None or now - entry[0] > self.window:
            return VelocityCounts(a, 0, 0, c) if (a or c) else ZERO
        return VelocityCounts(a, entry[1], len(entry[2]), c)


def _digest(value) -> str:
    return hashlib.blake2b(str(value).encode(), digest_size=12).hexdigest()


class CacheVelocityStore(VelocityStore):
    """Counters in a Django cache (RISK_VELOCITY_CACHE); keys hold digests, not IPs or ids."""

    prefix = "risk:vel"

    def __init__(self, alias: str | None = None, window_seconds: int | None = None) -> None:
        from django.core.cache import caches

        self.cache = caches[alias or conf.get("RISK_VELOCITY_CACHE")]
        self.window = int(window_seconds or conf.velocity()["WINDOW_SECONDS"])

    def _incr(self, key: str, timeout: int | None = None) -> int:
        timeout = timeout or self.window
        if self.cache.add(key, 1, timeout):
            return 1
        try:
            return self.cache.incr(key)
        except ValueError:  # expired between add() and incr()
            self.cache.add(key, 1, timeout)
            return 1

    def record_failure(self, user_id, ip, at) -> None:
        u, i = _digest(user_id), _digest(ip)
        self._incr(f"{self.prefix}:a:{u}")
        self._incr(f"{self.prefix}:c:{u}", CONSECUTIVE_TTL)
        self._incr(f"{self.prefix}:i:{i}")
        if self.cache.add(f"{self.prefix}:ia:{i}:{u}", 1, self.window):
            self._incr(f"{self.prefix}:is:{i}")

    def record_success(self, user_id, ip, at) -> None:
        u = _digest(user_id)
        self.cache.delete_many([f"{self.prefix}:a:{u}", f"{self.prefix}:c:{u}"])

    def counts(self, user_id, ip, at) -> VelocityCounts:
        u, i = _digest(user_id), _digest(ip)
        keys = [f"{self.prefix}:a:{u}", f"{self.prefix}:i:{i}", f"{self.prefix}:is:{i}", f"{self.prefix}:c:{u}"]
        got = self.cache.get_many(keys)
        return VelocityCounts(*(int(got.get(k, 0)) for k in keys))
