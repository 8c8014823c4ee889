"""Benchmark one risk assessment on PostgreSQL against histories of 100 to 100,000 sign-ins.

    DATABASE_URL=postgres://USER@HOST:5432/NAME python bench/risk_assess_bench.py
        [--n 1000] [--sizes 100,10000,100000] [--background-users 300] [--seed 1] [--profile]

Refuses to run on anything but PostgreSQL. It never writes to NAME: it creates a throwaway
database next to it (``NAME_assessbench_PID``, with Django's test-database machinery), migrates
it, and drops it at the end, so no users or global counts are left behind.

Setup: demo GeoIP City/ASN databases (risk.geo.build_demo_databases) in a temp dir, configured as
the site's RISK_GEOIP_CITY_DB/ASN_DB; the cache velocity store on the configured cache. One user
per history size, plus ``--background-users`` users with 100 sign-ins each so the global counts
are not just the measured users'. Histories are generated contexts (bench/risk_history.py: a few
dozen to a thousand distinct IPs, networks, UAs and devices per user, growing with the history),
learned with MemoryCountStore.learn and bulk-inserted as the rows DatabaseCountStore.learn
leaves (equivalence: tests/risk/test_bench_history.py; the run also checks, for every measured
context, that DatabaseCountStore's snapshot equals the in-memory store's).

Measured: ``risk.services.login_assess(context=...)`` (the call the login flow makes), ``--n``
times per history size on contexts built like the flow builds them (GeoIP lookup, parsed UA,
device cookie): about half known (a place, browser and device of the history), the rest new IP
in a known network, new hosting network far away, new browser, and all-new (a password thief).
Sizes are interleaved in blocks so machine noise hits them alike. Prints median, p95, p99 and
mean in ms per size, the cost ratio to the smallest history, SQL queries per assessment (a
separate pass under CaptureQueriesContext) and the decision mix.

Targets: median <= 2 ms and p99 <= 5 ms at 10,000 earlier sign-ins; cost at 100,000 within
1.5x of the cost at 100.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "authsite.settings")

T_NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BLOCK = 50  # assessments per size before moving to the next size


def pctl(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted samples."""
    return sorted_ms[min(len(sorted_ms) - 1, max(0, round(q * len(sorted_ms)) - 1))]


def assessment_contexts(uid, persona, n: int, *, rng: random.Random, make, new_uas: list[str]):
    """``n`` contexts to assess: ~50% known, ~50% new in four ways (kind, context)."""
    out = []
    for i in range(n):
        at = T_NOW + timedelta(minutes=10 * i)
        known_ip = rng.choices(persona.ips, persona.ip_weights)[0]
        known_ua = rng.choices(persona.uas, persona.ua_weights)[0]
        known_dev = rng.choices(persona.devices, persona.device_weights)[0]
        r = rng.random()
        if r < 0.50:
            kind, ctx = "known", make(uid, known_ip, known_ua, at, known_dev)
        elif r < 0.65:  # same ISP, new address (the mobile carrier: no device cookie either)
            ip = f"198.51.100.{rng.randint(235, 254)}"
            kind, ctx = "new ip, known network", make(uid, ip, known_ua, at, None)
        elif r < 0.75:  # a VPN / cloud host in Sydney, an hour after Oslo
            ip = f"203.0.113.{rng.randint(1, 254)}"
            kind, ctx = "new hosting network", make(uid, ip, known_ua, at, known_dev)
        elif r < 0.85:
            kind, ctx = "new browser", make(uid, known_ip, rng.choice(new_uas), at, f"new-{uid}-{i}")
        else:  # a password thief: unknown network outside the GeoIP ranges, new UA, no cookie
            ip = f"{rng.randint(11, 99)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            kind, ctx = "all new", make(uid, ip, rng.choice(new_uas), at, None)
        out.append((kind, ctx))
    return out


def check_snapshots(bulk, contexts) -> int:
    """Assert that the database store sees what the in-memory store learned; return checks done."""
    from risk.model import LEVELS
    from risk.network_type import network_stat_keys
    from risk.store import DatabaseCountStore, learn_keys

    db = DatabaseCountStore(totals_ttl=0)
    for _, ctx in contexts:
        got, want = db.snapshot_for(ctx), bulk.mem.snapshot(ctx.user_id)
        keys, device = learn_keys(ctx)
        keys += network_stat_keys(ctx.network)
        assert got.user == {k: want.user[k] for k in keys + ([device] if device else []) if k in want.user}
        assert got.glob == {k: want.glob[k] for k in keys if k in want.glob}
        assert {lv: got.totals.get(lv) for lv in LEVELS} == {lv: want.totals.get(lv) for lv in LEVELS}
        assert {lv: got.distinct.get(lv) for lv in LEVELS} == {lv: want.distinct.get(lv) for lv in LEVELS}
        assert (got.n_user, got.n_total, got.n_users) == (want.n_user, want.n_total, want.n_users)
        assert got.profile == want.profile, (got.profile, want.profile)
    return len(contexts)


def breakdown(contexts) -> dict[str, list[float]]:
    """Time the parts of ``login_assess`` separately on the same contexts (ms per context)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from risk.loading import get_policy, get_signals
    from risk.store import DatabaseCountStore
    from risk.velocity import CacheVelocityStore

    clock = time.perf_counter_ns
    out: dict[str, list[float]] = {}

    def timed(label, fn, items):
        samples = out.setdefault(label, [])
        for item in items:
            t0 = clock()
            fn(item)
            samples.append((clock() - t0) / 1e6)

    ctxs = [ctx for _, ctx in contexts]
    store, velocity = DatabaseCountStore(), CacheVelocityStore()
    policy, signals = get_policy(), get_signals()
    sqls = []
    for ctx in ctxs:
        connection.queries_log.clear()  # a full log (9,000 entries) would capture nothing
        with CaptureQueriesContext(connection) as captured:
            store.snapshot_for(ctx)
        sqls.append([q["sql"] for q in captured.captured_queries])
    n_queries = len(sqls[0])
    timed(f"DatabaseCountStore.snapshot_for ({n_queries} SQL statement(s))", store.snapshot_for, ctxs)
    with connection.cursor() as cursor:

        def raw(batch):
            for sql in batch:
                cursor.execute(sql)
                cursor.fetchall()

        timed("the same SQL as literal text on a Django cursor", raw, sqls)
        timed(
            f"{n_queries} x SELECT 1 on the same cursor (round trips alone)",
            raw,
            [["SELECT 1"] * n_queries] * len(ctxs),
        )
    timed("CacheVelocityStore.counts", lambda c: velocity.counts(c.user_id, c.ip, c.timestamp), ctxs)
    snaps = [(ctx, store.snapshot_for(ctx), velocity.counts(ctx.user_id, ctx.ip, ctx.timestamp)) for ctx in ctxs]

    def decide(item):
        ctx, snap, counts = item
        results = [r for s in signals if (r := s.evaluate(ctx, snap, counts)) is not None]
        policy.decide(ctx, snap, results, counts)

    timed("signals + policy.decide (model, pure Python)", decide, snaps)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="assessments per history size")
    parser.add_argument("--sizes", default="100,10000,100000", help="earlier sign-ins of the measured users")
    parser.add_argument("--background-users", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile the assessments of the middle size")
    parser.add_argument(
        "--breakdown", action="store_true", help="also time the parts of an assessment at the middle size"
    )
    parser.add_argument(
        "--debug-cursor",
        action="store_true",
        help="keep Django's query logging on when settings.DEBUG is (default: off, as in production)",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        print(
            "risk_assess_bench measures the database store on PostgreSQL; set DATABASE_URL to a "
            "postgres://USER@HOST:PORT/NAME URL (got "
            + (repr(url.split("://")[0] + "://...") if url else "nothing: the settings default is SQLite")
            + ").",
            file=sys.stderr,
        )
        return 2

    tmp = tempfile.TemporaryDirectory()
    from risk.geo import build_demo_databases

    city_db, asn_db = build_demo_databases(tmp.name)
    os.environ["GEOIP_CITY_DB"], os.environ["GEOIP_ASN_DB"] = str(city_db), str(asn_db)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    if not args.debug_cursor:
        settings.DEBUG = False  # DEBUG logs every query (CursorDebugWrapper); production does not
    if connection.vendor != "postgresql":
        print(f"risk_assess_bench needs PostgreSQL, the default database is {connection.vendor}.", file=sys.stderr)
        return 2
    db = settings.DATABASES["default"]
    db.setdefault("TEST", {})["NAME"] = f"{db['NAME']}_assessbench_{os.getpid()}"
    t0 = time.perf_counter()
    old_config = setup_databases(verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set())
    print(
        f"throwaway database {connection.settings_dict['NAME']} created and migrated "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    try:
        return run(args, sizes)
    finally:
        teardown_databases(old_config, verbosity=0)
        print(f"throwaway database {db['TEST']['NAME']} dropped")
        tmp.cleanup()


def run(args, sizes: list[int]) -> int:  # noqa: PLR0912, PLR0915
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from risk_history import BulkHistory, ContextFactory, history, make_persona
    from ua_strings import make_user_agents

    from risk import services
    from risk.geo import lookup
    from risk.policy import assess
    from risk.store import DatabaseCountStore
    from risk.velocity import CacheVelocityStore

    rng = random.Random(args.seed)
    assert lookup("192.0.2.10") is not None, "the demo GeoIP databases are not configured"
    pool = [u for u in make_user_agents(4000, args.seed) if u.startswith("Mozilla") and "Headless" not in u]
    browser_uas, new_uas = pool[:3000], pool[3000:]
    make = ContextFactory()
    User = get_user_model()

    n_bg = args.background_users
    users = User.objects.bulk_create(
        [User(email=f"bench-{i}@example.invalid", password="!") for i in range(len(sizes) + n_bg)]
    )
    measured, background = users[: len(sizes)], users[len(sizes) :]
    bulk = BulkHistory()
    t0 = time.perf_counter()
    learned = 0
    personas = {}
    for user in background:
        persona = make_persona(user.pk, 100, browser_uas, rng)
        for ctx in history(
            user.pk, persona, 100, end=T_NOW - timedelta(days=1), span=timedelta(days=200), rng=rng, make=make
        ):
            bulk.learn(ctx)
            learned += 1
    for user, size in zip(measured, sizes, strict=True):
        personas[size] = persona = make_persona(user.pk, size, browser_uas, rng)
        span = timedelta(days=min(3 * 365, max(100, size // 30)))
        # The last sign-in an hour before the first assessment, from home (Oslo).
        for ctx in history(user.pk, persona, size - 1, end=T_NOW - timedelta(hours=2), span=span, rng=rng, make=make):
            bulk.learn(ctx)
        bulk.learn(make(user.pk, "192.0.2.1", persona.uas[0], T_NOW - timedelta(hours=1), persona.devices[0]))
        learned += size
    rows = bulk.write()
    print(
        f"histories: {learned} sign-ins of {len(users)} users learned in memory and bulk-inserted as "
        f"{rows} rows in {time.perf_counter() - t0:.1f} s"
    )
    for user, size in zip(measured, sizes, strict=True):
        state = bulk.mem.users[user.pk]
        per_level = Counter(level for level, _ in state.counts)
        print(
            f"  user with {size:>7,} sign-ins: distinct "
            + ", ".join(f"{lv} {per_level[lv]}" for lv in ("ip", "net", "cc", "ua", "bv", "osv", "dev", "device"))
        )

    contexts = {
        size: assessment_contexts(
            user.pk, personas[size], args.n, rng=random.Random(args.seed * 1000 + size), make=make, new_uas=new_uas
        )
        for user, size in zip(measured, sizes, strict=True)
    }
    checked = sum(check_snapshots(bulk, contexts[size]) for size in sizes)
    print(f"check: DatabaseCountStore snapshots equal the in-memory store's for all {checked} contexts")

    # Fail-closed would hide a broken setup as CHALLENGE_STRONG: check no context errors.
    for size in sizes:
        for _, ctx in contexts[size][:50]:
            assess(ctx, DatabaseCountStore(), CacheVelocityStore(), fail_closed=False)
    # A little failure history for the velocity store, so its counters are not all empty.
    for _, ctx in contexts[sizes[0]][:: max(1, args.n // 20)]:
        services.login_failed(user_id=ctx.user_id, ip=ctx.ip, at=ctx.timestamp)

    # Warm-up: connection, prepared plans, the totals cache, the signals.
    cache.delete(DatabaseCountStore.TOTALS_CACHE_KEY)
    for size in sizes:
        for _, ctx in contexts[size][:100]:
            services.login_assess(context=ctx)

    timings: dict[int, list[float]] = {size: [] for size in sizes}
    decisions: dict[int, Counter] = {size: Counter() for size in sizes}
    errors = 0
    clock = time.perf_counter_ns
    login_assess = services.login_assess
    for start in range(0, args.n, BLOCK):
        for size in sizes:
            out = timings[size]
            for _, ctx in contexts[size][start : start + BLOCK]:
                t0 = clock()
                result = login_assess(context=ctx)
                out.append((clock() - t0) / 1e6)
                decisions[size][result.decision.name] += 1
                errors += "error" in result.breakdown

    with connection.cursor() as cursor:  # the floor: one round trip of a trivial query
        rtt = []
        for _ in range(500):
            t0 = clock()
            cursor.execute("SELECT 1")
            cursor.fetchone()
            rtt.append((clock() - t0) / 1e6)

    queries: dict[int, list[int]] = {}
    for size in sizes:
        counts = []
        for _, ctx in contexts[size]:
            connection.queries_log.clear()  # a full log (9,000 entries) would capture nothing
            with CaptureQueriesContext(connection) as captured:
                services.login_assess(context=ctx)
            counts.append(len(captured.captured_queries))
        queries[size] = counts
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        services.login_assess(context=contexts[sizes[-1]][0][1])
    sample_sql = [q["sql"] for q in captured.captured_queries]
    phases = breakdown(contexts[sizes[len(sizes) // 2]]) if args.breakdown else None

    # --- report ------------------------------------------------------------------------------
    cache_backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    print(
        f"\nlogin_assess on PostgreSQL {connection.pg_version // 10000}, psycopg "
        f"{__import__('psycopg').__version__}, cache {cache_backend}, {args.n} assessments per size, "
        f"sizes interleaved in blocks of {BLOCK}, seed {args.seed}, DEBUG {settings.DEBUG}"
    )
    print(f"PostgreSQL round trip of SELECT 1 through Django's cursor: median {statistics.median(rtt):.3f} ms")
    base = statistics.median(timings[sizes[0]])
    base_mean = statistics.fmean(timings[sizes[0]])
    header = (
        f"{'earlier sign-ins':>16}{'median ms':>11}{'p95 ms':>9}{'p99 ms':>9}{'mean ms':>9}"
        f"{'x median':>10}{'x mean':>8}{'SQL/assess':>12}"
    )
    print(header)
    for size in sizes:
        s = sorted(timings[size])
        med, mean = statistics.median(s), statistics.fmean(s)
        q = queries[size]
        qtxt = f"{min(q)}" if min(q) == max(q) else f"{min(q)}-{max(q)} ({statistics.fmean(q):.2f})"
        print(
            f"{size:>16,}{med:>11.3f}{pctl(s, 0.95):>9.3f}{pctl(s, 0.99):>9.3f}{mean:>9.3f}"
            f"{med / base:>10.2f}{mean / base_mean:>8.2f}{qtxt:>12}"
        )
    kinds = Counter(kind for kind, _ in contexts[sizes[0]])
    print("context mix: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
    for size in sizes:
        print(f"decisions at {size:,}: " + ", ".join(f"{k} {v}" for k, v in sorted(decisions[size].items())))
    print(f"engine errors (fail-closed results): {errors}")
    print("queries of one assessment:")
    for sql in sample_sql:
        print("  " + sql)

    if phases:
        print(
            f"\nwhere one assessment's time goes, at {sizes[len(sizes) // 2]:,} earlier sign-ins "
            "(median ms, separate passes):"
        )
        for label, samples in phases.items():
            print(f"  {label:62}{statistics.median(samples):8.3f}")

    print("\ntargets:")
    verdicts = []
    if 10000 in timings:
        s = sorted(timings[10000])
        med, p99 = statistics.median(s), pctl(s, 0.99)
        verdicts.append((f"median <= 2 ms at 10,000 ({med:.3f} ms)", med <= 2.0))
        verdicts.append((f"p99 <= 5 ms at 10,000 ({p99:.3f} ms)", p99 <= 5.0))
    if 100 in timings and 100000 in timings:
        ratio = statistics.median(timings[100000]) / statistics.median(timings[100])
        verdicts.append((f"median at 100,000 within 1.5x of 100 ({ratio:.2f}x)", ratio <= 1.5))
    for text, ok in verdicts:
        print(f"  {'met   ' if ok else 'MISSED'} {text}")

    if args.profile:
        import cProfile
        import pstats

        size = sizes[len(sizes) // 2]
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(3):
            for _, ctx in contexts[size]:
                login_assess(context=ctx)
        prof.disable()
        print(f"\ncProfile: {3 * args.n} assessments at {size:,} earlier sign-ins, top 30 by cumulative time")
        pstats.Stats(prof, stream=sys.stdout).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
