"""Benchmark the risk engine on a simulated trace: speed, memory, and detection per attacker type.

    python bench/risk_replay_bench.py [--users 2000] [--days 180] [--seed 1] [--trace FILE]
                                      [--tracemalloc]

Generates a trace with risk.evaluation.simulate (about 110 rows per user over 180 days) and replays it with
the replay contract of docs/risk-model.md three ways: "engine" (the RBA columns plus coordinates only, as for
the public data set), "engine+cookie" (also the trace's Device ID column, i.e. the device cookie
a real deployment has), and "freeman" (the plain Freeman et al. baseline). It prints
rows/s, peak memory, ROC AUC per attacker type, the challenge and deny rates of legitimate users
with 10+ earlier successful sign-ins, and the catch rate per attacker type at the default
thresholds.

--calibrate adds replays with self-calibrating thresholds (risk_replay --calibrate); --rtt simulates
round-trip times and adds replays without them (risk_replay --ignore-rtt), to report each effect.

Targets: legit (10+ logins) challenged <= 5%, denied <= 0.2%; naive caught >= 99.5%, VPN >= 99%,
targeted >= 75%; replay >= 20,000 rows/s.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "authsite.settings")


def run(
    trace: Path,
    *,
    baseline: bool,
    trace_memory: bool,
    device_ids: bool = False,
    calibrate: bool = False,
    rtt: bool = True,
    repeat: int = 1,
) -> dict:
    from risk.decision import Decision
    from risk.evaluation.replay import Replayer, ScoreHistogram, roc_auc
    from risk.evaluation.simulate import ATTACKER_TYPES

    per_type = {t: {"n": 0, "caught": 0, "denied": 0, "hist": ScoreHistogram()} for t in ATTACKER_TYPES}
    settled = {"n": 0, "challenged": 0, "denied": 0}
    neg = ScoreHistogram()

    def on_scored(row, col, result, n_before, is_ato):
        if is_ato:
            t = per_type[row[col["Attacker Type"]]]
            t["n"] += 1
            t["hist"].add(result.score)
            if result.decision is not Decision.ALLOW:
                t["caught"] += 1
            if result.decision is Decision.DENY:
                t["denied"] += 1
        else:
            neg.add(result.score)
            if n_before >= 10:
                settled["n"] += 1
                if result.decision is Decision.DENY:
                    settled["denied"] += 1
                elif result.decision is not Decision.ALLOW:
                    settled["challenged"] += 1

    # Speed: a plain replay, exactly what `manage.py risk_replay` does (scores written out).
    options = {"baseline": baseline, "use_device_ids": device_ids, "calibrate": calibrate, "use_rtt": rtt}
    # The best of ``repeat`` runs, in wall time and in CPU time of this process: CPU time is what
    # the replay itself costs when other work shares the cores.
    elapsed = cpu = float("inf")
    for _ in range(repeat):
        timed = Replayer(**options)
        started, cpu_started = time.perf_counter(), time.process_time()
        with open(trace, newline="", encoding="utf-8") as fh, open(os.devnull, "w") as out:
            timed.run(fh, out)
        elapsed = min(elapsed, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - cpu_started)
    # Metrics (and optionally memory): a second replay with the per-row callback.
    replayer = Replayer(on_scored=on_scored, **options)
    if trace_memory:
        tracemalloc.start()
    with open(trace, newline="", encoding="utf-8") as fh, open(os.devnull, "w") as out:
        stats = replayer.run(fh, out)
    peak = tracemalloc.get_traced_memory()[1] if trace_memory else None
    if trace_memory:
        tracemalloc.stop()
    return {
        "stats": stats,
        "elapsed": elapsed,
        "cpu": cpu,
        "peak": peak,
        "settled": settled,
        "users": len(replayer.store.users),
        "keys": sum(len(u.counts) for u in replayer.store.users.values()),
        "per_type": {t: {**v, "auc": roc_auc(v["hist"], neg)} for t, v in per_type.items()},
    }


def replay_variants(trace: Path, args) -> dict:
    """Replay the trace each way asked for; return the results by column name."""
    memory = args.tracemalloc
    variants = {
        "engine": {},
        "engine+cookie": {"device_ids": True},
        "freeman": {"baseline": True},
    }
    if args.calibrate:
        variants["engine cal"] = {"calibrate": True}
        variants["engine+cookie cal"] = {"device_ids": True, "calibrate": True}
    if args.rtt:
        variants["engine no-rtt"] = {"rtt": False}
        variants["e+cookie no-rtt"] = {"device_ids": True, "rtt": False}
    if args.rtt and args.calibrate:
        variants["engine cal no-rtt"] = {"calibrate": True, "rtt": False}
        variants["e+cookie cal no-rtt"] = {"device_ids": True, "calibrate": True, "rtt": False}
    return {
        name: run(trace, baseline=options.pop("baseline", False), trace_memory=memory, repeat=args.repeat, **options)
        for name, options in variants.items()
    }


def pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:6.2f}%" if b else "   n/a "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trace", help="Use this trace instead of generating one.")
    parser.add_argument(
        "--tracemalloc", action="store_true", help="Measure peak Python allocations (slows the replay down)."
    )
    parser.add_argument("--repeat", type=int, default=1, help="Time each replay this many times; print the best.")
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="Also replay with self-calibrating thresholds (columns marked 'cal').",
    )
    parser.add_argument(
        "--rtt",
        action="store_true",
        help=(
            "Simulate round-trip times too (unless --trace is given), and also replay without the "
            "Round-Trip Time column (columns marked 'no-rtt')."
        ),
    )
    args = parser.parse_args(argv)

    import django

    django.setup()
    from risk.evaluation.simulate import SimConfig, simulate

    with tempfile.TemporaryDirectory() as tmpdir:
        if args.trace:
            trace = Path(args.trace)
        else:
            trace = Path(tmpdir) / "trace.csv"
            t0 = time.perf_counter()
            with open(trace, "w", newline="", encoding="utf-8") as fh:
                n = simulate(fh, SimConfig(users=args.users, days=args.days, seed=args.seed, rtt=args.rtt))
            print(
                f"trace: {n} rows, {args.users} users, {args.days} days, seed {args.seed}"
                f"{', round-trip times' if args.rtt else ''} "
                f"(generated in {time.perf_counter() - t0:.1f} s)"
            )
        # Rows/s depends on what else the machine runs: print its load next to the figures.
        load_before = os.getloadavg()[0]
        results = replay_variants(trace, args)

    names = list(results)
    print(f"\n{'':38}" + "".join(f"{n:>18}" for n in names))

    def line(label, fn):
        print(f"{label:38}" + "".join(f"{fn(results[n]):>18}" for n in names))

    line("rows", lambda r: str(r["stats"].rows))
    line("replay rows/s", lambda r: f"{r['stats'].rows / r['elapsed']:.0f}")
    line("replay rows per CPU-second", lambda r: f"{r['stats'].rows / r['cpu']:.0f}")
    line("users / per-user count keys", lambda r: f"{r['users']}/{r['keys']}")
    if args.tracemalloc:
        line("peak traced memory (MiB)", lambda r: f"{r['peak'] / 2**20:.1f}")
    line("ROC AUC (all takeovers)", lambda r: f"{r['stats'].auc:.4f}")
    line("legit challenged (all)", lambda r: pct(r["stats"].legit_challenged, r["stats"].legit))
    line("legit denied (all)", lambda r: pct(r["stats"].legit_denied, r["stats"].legit))
    line("legit 10+ logins: n", lambda r: str(r["settled"]["n"]))
    line("legit 10+ logins: challenged", lambda r: pct(r["settled"]["challenged"], r["settled"]["n"]))
    line("legit 10+ logins: denied", lambda r: pct(r["settled"]["denied"], r["settled"]["n"]))
    line("takeovers caught (all)", lambda r: pct(r["stats"].ato_caught, r["stats"].ato))
    for t in results["engine"]["per_type"]:
        line(f"{t}: n", lambda r, t=t: str(r["per_type"][t]["n"]))
        line(f"{t}: caught", lambda r, t=t: pct(r["per_type"][t]["caught"], r["per_type"][t]["n"]))
        line(f"{t}: denied", lambda r, t=t: pct(r["per_type"][t]["denied"], r["per_type"][t]["n"]))
        line(
            f"{t}: ROC AUC",
            lambda r, t=t: f"{r['per_type'][t]['auc']:.4f}" if r["per_type"][t]["auc"] is not None else "n/a",
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nprocess peak RSS (all runs, Django loaded): {rss:.0f} MiB")
    print(f"machine: {os.cpu_count()} CPUs, 1-minute load average {load_before:.2f} before the replays")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
