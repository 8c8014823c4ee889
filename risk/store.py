"""Count stores: what the model and the signals know about users' past successful sign-ins.

Two implementations of one interface: :class:`MemoryCountStore` (dicts; replay and tests; memory
grows with distinct values per user, never with rows) and :class:`DatabaseCountStore` (tables in
:mod:`risk.models`; snapshots are one hand-written parameterised query, learning goes through the
ORM and increments counts with F() so concurrent sign-ins do not lose updates).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from risk.model import DEVICE_LEVEL, IP_LEVELS, RTT_COUNT, CountsSnapshot, UserProfile, context_keys
from risk.network_type import network_stat_keys, network_stat_levels

NETWORK_LEVEL = IP_LEVELS[1]

USERS_LEVEL = "__users__"  # pseudo level whose total is the number of users with history
# Levels counted per user only, never globally: the device cookie and the round-trip-time count.
PER_USER_LEVELS = frozenset({DEVICE_LEVEL, RTT_COUNT[0]})


def value_hash(level: str, value: str) -> str:
    """Return the stored digest of a (level, value) pair (values may be long or personal)."""
    return hashlib.blake2b(f"{level}\x1f{value}".encode(), digest_size=16).hexdigest()


def learn_keys(ctx) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
    """Return the model keys and the per-user device key of a context."""
    device = (DEVICE_LEVEL, ctx.device_key) if ctx.device_id else None
    return context_keys(ctx), device


class CountStore:
    """The interface of a count store."""

    def snapshot(self, user_id, keys: Iterable[tuple[str, str]]) -> CountsSnapshot:
        """Return the counts of ``keys`` (per user and global), the totals and the profile."""
        raise NotImplementedError

    def learn(self, ctx) -> None:
        """Count a successful sign-in into the user's history and the global counts."""
        raise NotImplementedError

    def snapshot_for(self, ctx) -> CountsSnapshot:
        """Return the snapshot for every key of ``ctx``, its device key and network statistics included."""
        keys, device = learn_keys(ctx)
        keys = keys + network_stat_keys(ctx.network)
        if device is not None:
            keys.append(device)
        return self.snapshot(ctx.user_id, keys)


class _UserState:
    __slots__ = ("counts", "profile")

    def __init__(self) -> None:
        self.counts: dict = {}
        self.profile = UserProfile()


class MemoryCountStore(CountStore):
    """Counts in dicts. The snapshot shares the live dicts (read-only by contract), no copying."""

    def __init__(self) -> None:
        self.users: dict = {}
        self.glob: dict = {}
        self.totals: dict = {}
        self.distinct: dict = {}
        self.n_total = 0
        self._empty = _UserState()

    def snapshot_for(self, ctx) -> CountsSnapshot:
        return self.snapshot(ctx.user_id)  # the snapshot shares the dicts: no keys needed

    def snapshot(self, user_id, keys=()) -> CountsSnapshot:
        state = self.users.get(user_id, self._empty)
        return CountsSnapshot(
            n_user=state.profile.n_success,
            user=state.counts,
            glob=self.glob,
            totals=self.totals,
            distinct=self.distinct,
            n_total=self.n_total,
            n_users=len(self.users),
            profile=state.profile,
        )

    def learn(self, ctx) -> None:
        state = self.users.get(ctx.user_id)
        if state is None:
            state = self.users[ctx.user_id] = _UserState()
        counts, glob, totals, distinct = state.counts, self.glob, self.totals, self.distinct
        rtt, rttc = ctx.rtt_levels
        if rtt is not None:
            # Per user only: how many of the user's sign-ins carried the round-trip-time feature.
            counts[RTT_COUNT] = counts.get(RTT_COUNT, 0) + 1
        for key in (
            ("ip", ctx.ip or None),
            ("net", ctx.network),
            ("cc", ctx.geo.country),
            ("ua", ctx.user_agent or None),
            ("bv", ctx.browser or None),
            ("osv", ctx.os or None),
            ("dev", ctx.device_type or None),
            ("rtt", rtt),
            ("rttc", rttc),
        ):
            if key[1] is None:
                continue
            counts[key] = counts.get(key, 0) + 1
            c = glob.get(key, 0)
            if not c:
                distinct[key[0]] = distinct.get(key[0], 0) + 1
            glob[key] = c + 1
            totals[key[0]] = totals.get(key[0], 0) + 1
        if ctx.network:
            _count_network_user(counts.get((NETWORK_LEVEL, ctx.network), 0), ctx.network, glob, totals, distinct)
        if ctx.device_key is not None:
            device = (DEVICE_LEVEL, ctx.device_key)
            counts[device] = counts.get(device, 0) + 1
        self.n_total += 1
        _update_profile(state.profile, ctx)


def _count_network_user(user_count: int, network: str, glob: dict, totals: dict, distinct: dict) -> None:
    """Count a user into a network's statistics once the user's sign-in there is counted.

    ``user_count`` is the user's sign-ins from the network including this one: the first makes
    the user one of the network's users, the third one of its returning users
    (risk/network_type.py).
    """
    for level in network_stat_levels(user_count):
        key = (level, network)
        c = glob.get(key, 0)
        if not c:
            distinct[level] = distinct.get(level, 0) + 1
        glob[key] = c + 1
        totals[level] = totals.get(level, 0) + 1


def _db_datetime(value, connection) -> datetime | None:
    """Return a DateTimeField value read through a raw cursor as the ORM would return it.

    PostgreSQL gives aware datetimes already; SQLite gives naive UTC (or text, when the column's
    declared type is lost in a UNION), which the ORM makes aware in the connection's time zone.
    """
    if value is None:
        return None
    if isinstance(value, str):
        from django.utils.dateparse import parse_datetime

        value = parse_datetime(value)
    if value.tzinfo is None:
        from django.conf import settings

        if settings.USE_TZ:
            from django.utils import timezone

            value = timezone.make_aware(value, connection.timezone)
    return value


def _update_profile(profile: UserProfile, ctx) -> None:
    profile.n_success += 1
    if ctx.device_id:
        profile.n_with_device += 1
    profile.last_success_at = ctx.timestamp
    # Overwrite the location even with None: comparing with an older fix would invent speeds.
    profile.last_latitude = ctx.geo.latitude
    profile.last_longitude = ctx.geo.longitude
    profile.last_accuracy_km = ctx.geo.accuracy_radius_km
    profile.last_country = ctx.geo.country


class DatabaseCountStore(CountStore):
    """Counts in the database (risk.models). Scoring costs one query plus cached totals.

    The query (a UNION ALL) reads the user's counts for the context's values, the global counts
    for those values and the user's login stats; global totals come from GlobalLevelStats, cached
    for ``totals_ttl`` seconds in the default cache.
    """

    TOTALS_CACHE_KEY = "risk:global-level-stats"

    def __init__(self, *, totals_ttl: int = 60) -> None:
        self.totals_ttl = totals_ttl

    def _totals(self) -> tuple[dict, dict]:
        from django.core.cache import cache

        from risk.models import GlobalLevelStats

        cached = cache.get(self.TOTALS_CACHE_KEY) if self.totals_ttl else None
        if cached is None:
            rows = GlobalLevelStats.objects.values_list("level", "total", "distinct")
            cached = ({lv: t for lv, t, _ in rows}, {lv: d for lv, _, d in rows})
            if self.totals_ttl:
                cache.set(self.TOTALS_CACHE_KEY, cached, self.totals_ttl)
        return cached

    _quoted_tables: dict = {}  # per database vendor, filled once

    @classmethod
    def _tables(cls, connection) -> tuple[str, str, str]:
        """Return the quoted table names of the per-user counts, global counts and login stats."""
        tables = cls._quoted_tables.get(connection.vendor)
        if tables is None:
            from risk.models import GlobalFeatureCount, UserFeatureCount, UserLoginStats

            quote = connection.ops.quote_name
            tables = cls._quoted_tables[connection.vendor] = tuple(
                quote(model._meta.db_table) for model in (UserFeatureCount, GlobalFeatureCount, UserLoginStats)
            )
        return tables

    def snapshot(self, user_id, keys=()) -> CountsSnapshot:
        """Read the counts and the login stats in one statement (one round trip).

        Hand-written SQL rather than three querysets: building and compiling the querysets cost
        about four times the round trips themselves. Values travel only as parameters. The login
        stats branch comes first so that its column types fix those of the UNION on PostgreSQL
        (the other branches fill those columns with NULL).
        """
        from django.db import connection

        users_table, global_table, stats_table = self._tables(connection)
        by_hash = {value_hash(lv, v): (lv, v) for lv, v in keys}
        model_hashes = [h for h, (lv, _) in by_hash.items() if lv not in PER_USER_LEVELS]
        # Only quoted table names and %s placeholders are formatted into the SQL (S608 below).
        parts = [
            "SELECT 2, NULL, n_success, n_with_device, last_success_at, last_latitude, last_longitude, "  # noqa: S608
            f"last_accuracy_km, last_country FROM {stats_table} WHERE user_id = %s"
        ]
        params: list = [user_id]
        if by_hash:
            placeholders = ", ".join(["%s"] * len(by_hash))
            parts.append(
                "SELECT 0, value_hash, count, NULL, NULL, NULL, NULL, NULL, NULL "  # noqa: S608
                f"FROM {users_table} WHERE user_id = %s AND value_hash IN ({placeholders})"
            )
            params.append(user_id)
            params.extend(by_hash)
        if model_hashes:
            placeholders = ", ".join(["%s"] * len(model_hashes))
            parts.append(
                "SELECT 1, value_hash, count, NULL, NULL, NULL, NULL, NULL, NULL "  # noqa: S608
                f"FROM {global_table} WHERE value_hash IN ({placeholders})"
            )
            params.extend(model_hashes)
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            rows = cursor.fetchall()
        user: dict = {}
        glob: dict = {}
        profile = None
        for kind, h, count, n_with_device, last_at, lat, lon, accuracy, country in rows:
            if kind == 0:
                user[by_hash[h]] = count
            elif kind == 1:
                glob[by_hash[h]] = count
            else:
                profile = UserProfile(
                    n_success=count,
                    n_with_device=n_with_device,
                    last_success_at=_db_datetime(last_at, connection),
                    last_latitude=lat,
                    last_longitude=lon,
                    last_accuracy_km=accuracy,
                    last_country=country or None,
                )
        if profile is None:
            profile = UserProfile()
        totals, distinct = self._totals()
        n_total = totals.get(USERS_LEVEL + "logins", 0)
        return CountsSnapshot(
            n_user=profile.n_success,
            user=user,
            glob=glob,
            totals=totals,
            distinct=distinct,
            n_total=n_total,
            n_users=distinct.get(USERS_LEVEL, 0),
            profile=profile,
        )

    @staticmethod
    def prune(before: datetime) -> int:
        """Forget per-user values not seen since ``before``; return how many were dropped.

        docs/risk-model.md: history older than about six months can be dropped with little loss. A value
        the user has not used since then counts as new again, which is what it has become.
        """
        from risk.models import UserFeatureCount

        deleted, _ = UserFeatureCount.objects.filter(last_seen__lt=before).delete()
        return deleted

    @staticmethod
    def forget(user_id, keys: Iterable[tuple[str, str]]) -> int:
        """Drop ``user_id``'s counts of these (level, value) keys, so they count as new again."""
        from risk.models import UserFeatureCount

        hashes = [value_hash(level, value) for level, value in keys]
        deleted, _ = UserFeatureCount.objects.filter(user_id=user_id, value_hash__in=hashes).delete()
        return deleted

    def learn(self, ctx) -> None:
        """Count a successful sign-in: four upsert statements in one transaction.

        ``INSERT ... ON CONFLICT ... DO UPDATE`` (PostgreSQL, SQLite >= 3.35 for ``RETURNING``)
        adds to a row or creates it, atomically, so parallel sign-ins never lose a count and no
        read-then-write race needs a retry. Rows are written in a fixed order (sorted keys) so
        that two transactions touching the same rows lock them in the same order.
        """
        from django.core.cache import cache
        from django.db import connection, transaction

        from risk.models import GlobalLevelStats

        now: datetime = ctx.timestamp
        keys, device = learn_keys(ctx)
        user_rows = sorted((value_hash(lv, v), lv) for lv, v in ([*keys, device] if device else keys))
        global_rows = sorted((value_hash(lv, v), lv, v[:255]) for lv, v in keys if lv not in PER_USER_LEVELS)
        users_table, global_table, stats_table = self._tables(connection)
        levels_table = connection.ops.quote_name(GlobalLevelStats._meta.db_table)
        distinct = connection.ops.quote_name("distinct")
        with_device = 1 if ctx.device_id else 0
        # Only quoted table names and %s placeholders are formatted into the SQL (S608 below).
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {stats_table} AS s (user_id, n_success, n_with_device, last_success_at, "  # noqa: S608
                "last_latitude, last_longitude, last_accuracy_km, last_country) "
                "VALUES (%s, 1, %s, %s, %s, %s, %s, %s) ON CONFLICT (user_id) DO UPDATE SET "
                "n_success = s.n_success + 1, n_with_device = s.n_with_device + EXCLUDED.n_with_device, "
                "last_success_at = EXCLUDED.last_success_at, last_latitude = EXCLUDED.last_latitude, "
                "last_longitude = EXCLUDED.last_longitude, last_accuracy_km = EXCLUDED.last_accuracy_km, "
                "last_country = EXCLUDED.last_country RETURNING n_success",
                [
                    ctx.user_id,
                    with_device,
                    now,
                    ctx.geo.latitude,
                    ctx.geo.longitude,
                    ctx.geo.accuracy_radius_km,
                    ctx.geo.country or "",
                ],
            )
            new_user = cursor.fetchone()[0] == 1
            cursor.execute(
                f"INSERT INTO {users_table} AS u (user_id, level, value_hash, count, last_seen) VALUES "  # noqa: S608
                + ", ".join(["(%s, %s, %s, 1, %s)"] * len(user_rows))
                + " ON CONFLICT (user_id, value_hash) DO UPDATE SET count = u.count + 1,"
                " last_seen = EXCLUDED.last_seen RETURNING level, count",
                [p for h, lv in user_rows for p in (ctx.user_id, lv, h, now)],
            )
            if ctx.network:
                # The network's statistics follow the user's count there (risk/network_type.py).
                net_count = next((c for lv, c in cursor.fetchall() if lv == NETWORK_LEVEL), 0)
                global_rows = sorted(
                    global_rows
                    + [(value_hash(lv, ctx.network), lv, ctx.network[:255]) for lv in network_stat_levels(net_count)]
                )
            levels: dict[str, list[int]] = {USERS_LEVEL + "logins": [1, 0]}
            if new_user:
                levels[USERS_LEVEL] = [0, 1]
            if global_rows:
                cursor.execute(
                    f"INSERT INTO {global_table} AS g (level, value_hash, value, count) VALUES "  # noqa: S608
                    + ", ".join(["(%s, %s, %s, 1)"] * len(global_rows))
                    + " ON CONFLICT (value_hash) DO UPDATE SET count = g.count + 1 RETURNING level, count",
                    [p for h, lv, v in global_rows for p in (lv, h, v)],
                )
                for level, count in cursor.fetchall():
                    totals = levels.setdefault(level, [0, 0])
                    totals[0] += 1
                    totals[1] += 1 if count == 1 else 0  # a value seen for the first time
            rows = sorted(levels.items())
            cursor.execute(
                f"INSERT INTO {levels_table} AS t (level, total, {distinct}) VALUES "  # noqa: S608
                + ", ".join(["(%s, %s, %s)"] * len(rows))
                + f" ON CONFLICT (level) DO UPDATE SET total = t.total + EXCLUDED.total, "
                f"{distinct} = t.{distinct} + EXCLUDED.{distinct}",
                [p for level, (total, new) in rows for p in (level, total, new)],
            )
        cache.delete(self.TOTALS_CACHE_KEY)
