"""Replay a login trace (RBA data set CSV) through the engine; see RISK.md for the contract."""

import contextlib
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from risk.replay import Replayer, ReplayFormatError


class Command(BaseCommand):
    help = (
        "Replay INPUT.csv (RBA data set format, time order) through the risk engine in an "
        "isolated in-memory store; write index,score,decision,reasons and print a summary."
    )

    def add_arguments(self, parser):
        parser.add_argument("input", help="CSV in the RBA data set format ('-' for stdin).")
        parser.add_argument("--output", "-o", help="Where to write the scores CSV.")
        parser.add_argument(
            "--baseline", action="store_true", help="Use the plain Freeman et al. policy (no rule signals)."
        )

    def handle(self, *args, **options):
        replayer = Replayer(baseline=options["baseline"])
        started = time.perf_counter()
        with contextlib.ExitStack() as stack:
            try:
                infile = (
                    sys.stdin
                    if options["input"] == "-"
                    else stack.enter_context(open(options["input"], newline="", encoding="utf-8"))
                )
                outfile = (
                    stack.enter_context(open(options["output"], "w", newline="", encoding="utf-8"))
                    if options["output"]
                    else None
                )
            except OSError as exc:
                raise CommandError(str(exc)) from exc
            try:
                stats = replayer.run(infile, outfile)
            except ReplayFormatError as exc:
                raise CommandError(f"{options['input']}: {exc}") from exc
        elapsed = time.perf_counter() - started
        self.stdout.write(("baseline (plain Freeman)\n" if options["baseline"] else "") + stats.summary())
        self.stdout.write(f"time: {elapsed:.2f} s ({stats.rows / max(elapsed, 1e-9):.0f} rows/s)")
