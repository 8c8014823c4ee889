"""Benchmark the two per-request lookups of a sign-in: user-agent parsing and GeoIP.

    python bench/ua_geo_bench.py [--strings 2000] [--addresses 2000] [--passes 5] [--seed 1]

User agents: ``--strings`` distinct realistic strings (bench/ua_strings.py), each parsed once per
pass with every cache out of the way, side by side:

- ``authsite.core.ua (uncached)``: ``authsite.core.ua._parse``, the function behind the LRU of ``parse_ua``, with
  ua-parser's global parser swapped for one without its S3-FIFO cache (this process only), so
  every call really runs the resolver;
- ``user_agents.parse (stock)``: the ``user_agents`` package as shipped (ua-parser's legacy API);
  its 200-entry module cache is emptied before every call;
- ``authsite.core.ua.parse_ua (LRU hit)``: for reference, what a repeated string costs on the site.

Two indented rows split the uncached authsite.core.ua parse: the ua-parser resolver alone, and the three
regular expressions authsite.core.ua runs itself (automation, tablet, mobile).

GeoIP: demo City and ASN databases (risk.geo.build_demo_databases, temp dir), addresses inside
the demo ranges (found) and outside them (IPv4 and IPv6, not found), timed per call for the raw
City and ASN readers and for ``MaxMindGeoProvider.lookup`` (both readers plus normalisation,
what the login flow calls); indented rows: the raw maxminddb read of the City database (without
geoip2's model objects) and authsite.core.clientip.canonical_ip_or_none.

Prints per-call microseconds (median, mean, p99) in one table. Targets: GeoIP <= 20 us a lookup;
the uncached authsite.core.ua parse is expected far below the stock ~0.6 ms.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "authsite.settings")

GEO_TARGET_US = 20.0


def per_call_us(fn, items, passes: int, before=None) -> list[float]:
    """Time ``fn(item)`` for every item, ``passes`` times; return per-call microseconds."""
    clock = time.perf_counter_ns
    out = []
    for _ in range(passes):
        for item in items:
            if before is not None:
                before()
            t0 = clock()
            fn(item)
            out.append((clock() - t0) / 1000.0)
    return out


def timer_overhead_us() -> float:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(20000):
        t0 = clock()
        samples.append(clock() - t0)
    return statistics.median(samples) / 1000.0


def summary(samples: list[float]) -> tuple[float, float, float]:
    s = sorted(samples)
    return statistics.median(s), statistics.fmean(s), s[min(len(s) - 1, int(0.99 * len(s)))]


def make_addresses(n: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """Return (inside the demo ranges, outside them) addresses, ``n`` of each (inside repeats)."""
    from risk.geo import DEMO_CITY

    inside = [str(ip) for cidr, *_ in DEMO_CITY for ip in ipaddress.ip_network(cidr).hosts()]
    inside += [f"::ffff:{ip}" for ip in inside[:100]]  # IPv4-mapped: normalised by the provider
    rng.shuffle(inside)
    inside = (inside * (n // len(inside) + 1))[:n]
    outside: set[str] = set()
    demo = [ipaddress.ip_network(c) for c, *_ in DEMO_CITY]
    while len(outside) < n:
        if rng.random() < 0.8:
            addr = ipaddress.IPv4Address(rng.randint(1 << 24, (223 << 24) - 1))
            if addr.is_private or any(addr in net for net in demo):
                continue
        else:
            addr = ipaddress.IPv6Address((0x2001 << 112) + rng.getrandbits(100))
        outside.add(str(addr))
    return inside, sorted(outside, key=lambda _: rng.random())


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0915
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strings", type=int, default=2000)
    parser.add_argument("--addresses", type=int, default=2000)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    import django

    django.setup()
    import geoip2.errors
    import ua_parser
    import user_agents
    from ua_parser import user_agent_parser
    from ua_strings import make_user_agents

    from authsite.core import ua as risk_ua
    from authsite.core.clientip import canonical_ip_or_none
    from risk.geo import MaxMindGeoProvider, build_demo_databases

    rng = random.Random(args.seed)
    strings = make_user_agents(args.strings + 200, args.seed)
    warm, strings = strings[:200], strings[200:]
    rows: list[tuple[str, int, list[float]]] = []

    # --- user agents ------------------------------------------------------------------------
    import ua_parser.loaders

    uncached = ua_parser.Parser(ua_parser.BestAvailableResolver(ua_parser.loaders.load_lazy_builtins()))
    resolver_name = type(uncached.resolver).__module__
    stock_parser = ua_parser.parser  # the default (cached) parser, put back afterwards
    ua_parser.parser = uncached
    try:
        for s in warm:  # compile the lazily built regexes of both parsers
            risk_ua._parse(s)
            user_agents.parse(s)
        rows.append(
            ("authsite.core.ua._parse (uncached)", len(strings), per_call_us(risk_ua._parse, strings, args.passes))
        )
        rows.append(("  of which ua-parser resolver", len(strings), per_call_us(uncached.parse, strings, args.passes)))
    finally:
        ua_parser.parser = stock_parser

    def risk_regexes(s):
        risk_ua._AUTOMATION_RE.search(s)
        risk_ua._TABLET_RE.search(s)
        risk_ua._MOBILE_RE.search(s)

    rows.append(
        (
            "  authsite.core.ua's regexes (non-ASCII fallback)",
            len(strings),
            per_call_us(risk_regexes, strings, args.passes),
        )
    )
    rows.append(
        (
            "user_agents.parse (stock)",
            len(strings),
            per_call_us(user_agents.parse, strings, 1, before=user_agent_parser._PARSE_CACHE.clear),
        )
    )
    risk_ua.clear_cache()
    for s in strings[:1000]:
        risk_ua.parse_ua(s)
    rows.append(
        ("authsite.core.ua.parse_ua (LRU hit)", 1000, per_call_us(risk_ua.parse_ua, strings[:1000], args.passes))
    )
    ua_rows = len(rows)

    # --- GeoIP -------------------------------------------------------------------------------
    inside, outside = make_addresses(args.addresses, rng)
    with tempfile.TemporaryDirectory() as tmp:
        city_path, asn_path = build_demo_databases(tmp)
        provider = MaxMindGeoProvider(str(city_path), str(asn_path))
        city_reader, asn_reader = provider._readers()
        mode = type(city_reader._db_reader).__module__ + "." + type(city_reader._db_reader).__name__

        def city(ip):
            try:
                return city_reader.city(ip)
            except geoip2.errors.AddressNotFoundError:
                return None

        def asn(ip):
            try:
                return asn_reader.asn(ip)
            except geoip2.errors.AddressNotFoundError:
                return None

        plain_inside = [ip.removeprefix("::ffff:") for ip in inside]
        for fn in (city, asn, provider.lookup):
            for ip in plain_inside[:200] + outside[:200]:
                fn(ip)
        assert all(provider.lookup(ip) is not None for ip in inside[:50])
        assert all(provider.lookup(ip) is None for ip in outside[:50])
        for label, fn, items in (
            ("GeoIP City, inside demo ranges", city, plain_inside),
            ("GeoIP City, outside (not found)", city, outside),
            ("GeoIP ASN, inside demo ranges", asn, plain_inside),
            ("GeoIP ASN, outside (not found)", asn, outside),
            ("provider.lookup (City+ASN), inside", provider.lookup, inside),
            ("provider.lookup (City+ASN), outside", provider.lookup, outside),
            ("  raw maxminddb read, City db, inside", city_reader._db_reader.get, plain_inside),
            ("  authsite.core.clientip.canonical_ip_or_none", canonical_ip_or_none, inside),
        ):
            rows.append((label, len(items), per_call_us(fn, items, args.passes)))
        provider.close()

    # --- report ------------------------------------------------------------------------------
    overhead = timer_overhead_us()
    print(f"Python {sys.version.split()[0]}; ua-parser resolver {resolver_name}; maxminddb reader {mode}")
    print(
        f"{args.strings} distinct UA strings, {args.addresses} addresses per GeoIP row, seed {args.seed}; "
        f"timer overhead {overhead:.2f} us per call (included below)\n"
    )
    print(f"{'per call, microseconds':40}{'inputs':>8}{'calls':>8}{'median':>10}{'mean':>10}{'p99':>10}")
    for i, (label, n, samples) in enumerate(rows):
        if i == ua_rows:
            print()
        med, mean, p99 = summary(samples)
        print(f"{label:40}{n:>8}{len(samples):>8}{med:>10.1f}{mean:>10.1f}{p99:>10.1f}")
    stock, risk_med = summary(rows[3][2])[0], summary(rows[0][2])[0]
    print(f"\nuncached parse: authsite.core.ua is {stock / risk_med:.0f}x faster than user_agents.parse (median)")
    worst = max(summary(s)[1] for _, _, s in rows[ua_rows : ua_rows + 4])
    print(
        f"GeoIP target <= {GEO_TARGET_US:.0f} us per City or ASN lookup: "
        f"{'met' if worst <= GEO_TARGET_US else 'MISSED'} (worst mean {worst:.1f} us)"
    )
    both = max(summary(s)[0] for _, _, s in rows[ua_rows + 4 : ua_rows + 6])
    print(
        f"provider.lookup, both databases for one address: worst median {both:.1f} us "
        f"({'within' if both <= GEO_TARGET_US else 'over'} {GEO_TARGET_US:.0f} us)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
