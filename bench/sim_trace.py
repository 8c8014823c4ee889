"""Write a simulated login trace in the RBA data set format.

python bench/sim_trace.py OUT.csv [--users 2000] [--days 180] [--seed 1] [--no-coordinates] [--rtt]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "authsite.settings")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="CSV file to write ('-' for stdout)")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--attacks-per-day", type=float, default=8.0)
    parser.add_argument("--max-rows", type=int, default=None)
    parser.add_argument(
        "--no-coordinates", action="store_true", help="Leave out the optional Latitude/Longitude columns."
    )
    parser.add_argument(
        "--rtt",
        action="store_true",
        help="Fill Round-Trip Time [ms] with simulated measurements (the other columns stay the same).",
    )
    args = parser.parse_args(argv)

    from risk.evaluation.simulate import SimConfig, simulate

    config = SimConfig(
        users=args.users,
        days=args.days,
        seed=args.seed,
        attacks_per_day=args.attacks_per_day,
        coordinates=not args.no_coordinates,
        rtt=args.rtt,
    )
    if args.output == "-":
        n = simulate(sys.stdout, config, args.max_rows)
    else:
        with open(args.output, "w", newline="", encoding="utf-8") as fh:
            n = simulate(fh, config, args.max_rows)
    print(f"wrote {n} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
