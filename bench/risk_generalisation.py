"""Replay several simulated traces from two independent generators and print the figures of each.

    python bench/risk_generalisation.py [--users 1000] [--days 180]
                                        [--trace sim:1 --trace world2:1 ...] [--policy NAME=DOTTED.PATH]
                                        [--device-ids] [--keep DIR]

Traces: ``sim:SEED`` is risk.evaluation.simulate (the world the default thresholds and lists were
tuned in, at seed 1), ``world2:SEED`` is risk.evaluation.world2 (another country mix, rotating
carrier addresses, 600 hosting networks, more travel and VPN users, residential-proxy attackers),
``file:PATH`` any trace in the RBA format with an ``Attacker Type`` column. Default: sim:1 and
world2:1 (the traces looked at while choosing thresholds and signal parameters), then sim:2,
sim:3, world2:2 and world2:3, which no choice was made on.

Each trace is replayed with :class:`risk.evaluation.replay.Replayer`, the code path of
``manage.py risk_replay``, once per policy: "engine" (RISK_POLICY as configured), "freeman"
(``--baseline``), and any ``--policy NAME=path.to.PolicyClass``. Without ``--device-ids`` the
replay sees only the public data set's columns (plus coordinates), as for the public data set.
It prints, per trace and policy: legitimate users with 10+ earlier sign-ins challenged and
denied, and per attacker type the share caught (challenged or denied) and the ROC AUC of the
score against all legitimate sign-ins; then the reasons behind the settled users' challenges.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "authsite.settings")

# The traces looked at while choosing the engine's thresholds (sim:1) and the parameters of the
# network-type signals (sim:1, world2:1); the others are held out.
TUNED_ON = ("sim:1", "world2:1")
DEFAULT_TRACES = ("sim:1", "world2:1", "sim:2", "sim:3", "world2:2", "world2:3")
ROWS = (
    ("legit 10+ earlier sign-ins: challenged", "settled_challenged"),
    ("legit 10+ earlier sign-ins: denied", "settled_denied"),
)
KINDS = (("naive", "naive"), ("VPN", "vpn"), ("targeted", "targeted"), ("very targeted", "very_targeted"))


def build_trace(spec: str, directory: Path, users: int, days: int) -> Path:
    """Write the trace named by ``spec`` into ``directory`` (or return the file it names)."""
    kind, _, arg = spec.partition(":")
    if kind == "file":
        return Path(arg)
    if kind not in {"sim", "world2"} or not arg.isdigit():
        raise SystemExit(f"unknown trace {spec!r}: use sim:SEED, world2:SEED or file:PATH")
    path = directory / f"{kind}-{arg}-{users}u-{days}d.csv"
    if path.exists():
        return path
    with open(path, "w", newline="", encoding="utf-8") as fh:
        if kind == "sim":
            from risk.evaluation.simulate import SimConfig, simulate

            simulate(fh, SimConfig(users=users, days=days, seed=int(arg)))
        else:
            from risk.evaluation.world2 import World2Config, simulate_world2

            simulate_world2(fh, World2Config(users=users, days=days, seed=int(arg)))
    return path


def replay(trace: Path, policy: str | None, *, device_ids: bool) -> tuple:
    """Replay ``trace`` with ``policy`` ("freeman", None for RISK_POLICY, or a dotted path)."""
    from django.utils.module_loading import import_string

    from risk.evaluation.breakdown import Breakdown
    from risk.evaluation.replay import Replayer

    breakdown = Breakdown()
    kwargs = {"baseline": True} if policy == "freeman" else {}
    if policy not in {None, "freeman"}:
        kwargs["policy"] = import_string(policy)()
    replayer = Replayer(on_scored=breakdown, use_device_ids=device_ids, **kwargs)
    started = time.perf_counter()
    with open(trace, newline="", encoding="utf-8") as fh, open(os.devnull, "w") as out:
        stats = replayer.run(fh, out)
    return stats, breakdown, time.perf_counter() - started


def pct(value: float | None) -> str:
    return f"{100 * value:.2f}%" if value is not None else "n/a"


def caught(rates: dict, kind: str) -> str:
    r = rates.get(kind) or {}
    if not r.get("n"):
        return "n/a"
    auc = f"{r['auc']:.3f}" if r["auc"] is not None else "n/a"
    return f"{100 * r['caught']:.1f}% ({auc})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--trace", action="append", help="sim:SEED, world2:SEED or file:PATH (repeatable)")
    parser.add_argument("--policy", action="append", default=[], help="NAME=dotted.path.PolicyClass (repeatable)")
    parser.add_argument("--device-ids", action="store_true", help="Also read the Device ID column (the site's cookie).")
    parser.add_argument("--keep", help="Write the traces into this directory and reuse them when present.")
    args = parser.parse_args(argv)

    import django

    django.setup()
    policies: list[tuple[str, str | None]] = [("engine", None), ("freeman", "freeman")]
    for item in args.policy:
        name, _, path = item.partition("=")
        if not name or not path:
            raise SystemExit(f"--policy {item!r}: use NAME=dotted.path.PolicyClass")
        policies.append((name, path))
    traces = args.trace or list(DEFAULT_TRACES)
    print(f"machine: {os.cpu_count()} CPUs, 1-minute load average {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(args.keep) if args.keep else Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        for spec in traces:
            trace = build_trace(spec, directory, args.users, args.days)
            results = {}
            for name, policy in policies:
                results[name] = replay(trace, policy, device_ids=args.device_ids)
            stats = next(iter(results.values()))[0]
            tuned = " (tuned on)" if spec in TUNED_ON else " (held out: not tuned on)"
            print(f"\n## {spec}{tuned}: {stats.rows} rows, {args.users} users, {args.days} days")
            names = [n for n, _ in policies]
            print(f"{'':40}" + "".join(f"{n:>18}" for n in names))
            for label, key in ROWS:
                print(f"{label:40}" + "".join(f"{pct(results[n][1].rates()[key]):>18}" for n in names))
            for label, key in KINDS:
                n_attacks = results[names[0]][1].rates().get(key, {}).get("n", 0)
                print(
                    f"{label + f' caught (AUC), n={n_attacks}':40}"
                    + "".join(f"{caught(results[n][1].rates(), key):>18}" for n in names)
                )
            print(f"{'replay rows/s':40}" + "".join(f"{stats.rows / results[n][2]:>18.0f}" for n in names))
            for name in names:
                reasons = results[name][1].reasons
                top = sorted(reasons.items(), key=lambda kv: -kv[1])[:6]
                print(f"  {name}: settled challenges by reason: " + ", ".join(f"{k} {v}" for k, v in top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
