"""Set the site's CHALLENGE thresholds from its own sign-ins, or suggest thresholds from a labelled replay.

Two modes (docs/risk-model.md):

- ``risk_calibrate --apply [--every SECONDS]``: the site's self-calibration. Reads only the
  site's completed sign-ins (never labels), stores each band's threshold with its date and
  target rate; ``--dry-run`` prints without storing. The worker runs it on a schedule.
- ``risk_calibrate SCORES.csv INPUT.csv --target 0.99``: an evaluation tool. Reads a replay's
  scores and the trace's takeover labels and suggests thresholds for a catch rate.
"""

import logging
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connections

from risk.calibration import calibration_apply, calibration_compute
from risk.evaluation.calibrate import calibrate, read_scores
from risk.evaluation.replay import ReplayEncodingError, ReplayFormatError
from risk.thresholds import calibration_problems, calibration_settings

logger = logging.getLogger("risk.calibrate")


class Command(BaseCommand):
    help = (
        "--apply: set the CHALLENGE threshold of each login-frequency band from the site's completed "
        "sign-ins (RISK_TARGET_CHALLENGE_RATE). SCORES.csv INPUT.csv: suggest thresholds that catch a "
        "target share of the labelled account takeovers of a risk_replay run."
    )

    def add_arguments(self, parser):
        parser.add_argument("scores", nargs="?", help="risk_replay --output file (evaluation mode).")
        parser.add_argument("input", nargs="?", help="The trace it was replayed from (evaluation mode).")
        parser.add_argument(
            "--apply",
            action="store_true",
            help="Compute and store the site's thresholds from its own completed sign-ins.",
        )
        parser.add_argument("--dry-run", action="store_true", help="With --apply: print, store nothing.")
        parser.add_argument(
            "--every",
            type=int,
            metavar="SECONDS",
            help="With --apply: run again every SECONDS (at least 60) until stopped; a failed run is logged.",
        )
        parser.add_argument(
            "--target", type=float, action="append", help="Target takeover catch rate, e.g. 0.99 (repeatable)."
        )
        parser.add_argument(
            "--max-deny-rate", type=float, default=0.002, help="Largest share of legitimate sign-ins to deny (0.002)."
        )

    def handle(self, *args, **options):
        if options["apply"]:
            if options["scores"] or options["input"] or options["target"]:
                raise CommandError(
                    "--apply uses the site's own completed sign-ins: it takes no files and no --target "
                    "(set RISK_TARGET_CHALLENGE_RATE)"
                )
            return self.handle_apply(dry_run=options["dry_run"], every=options["every"])
        if options["dry_run"] or options["every"] is not None:
            raise CommandError("--dry-run and --every go with --apply")
        if not options["scores"] or not options["input"]:
            raise CommandError("give SCORES.csv and INPUT.csv (evaluation), or --apply (the site's thresholds)")
        return self.handle_labels(options)

    def handle_apply(self, *, dry_run: bool, every: int | None) -> None:
        if every is not None and every < 60:
            raise CommandError(f"--every {every}: at least 60 seconds")
        cfg = self.settings()
        if every is None:
            self.apply_once(cfg, dry_run=dry_run)
            return
        while True:
            try:
                self.apply_once(self.settings(), dry_run=dry_run)
            except (CommandError, DatabaseError):
                # The thresholds in force stay as they are; the next run tries again.
                logger.exception("threshold calibration failed", extra={"event": "risk_calibration_failed"})
            finally:
                # A connection broken by a database restart would fail every later run: reconnect.
                connections.close_all()
            time.sleep(every)

    @staticmethod
    def settings():
        problems = calibration_problems()
        if problems:
            raise CommandError("; ".join(problems))
        return calibration_settings()

    def apply_once(self, cfg, *, dry_run: bool) -> None:
        results = calibration_compute(cfg) if dry_run else calibration_apply(cfg)
        self.stdout.write(
            f"target challenge rate {cfg.target:.2%}, window {cfg.window_days} days, "
            f"at least {cfg.min_sign_ins} completed sign-ins per band, fixed CHALLENGE {cfg.default:.3f}"
        )
        self.stdout.write(f"{'band':>8} {'sign-ins':>9} {'by rule':>8} {'CHALLENGE':>10} {'expected':>9}  note")
        for r in results:
            expected = f"{r.expected_rate:.2%}" if r.expected_rate is not None else "-"
            note = ("bounded by " + r.limited_by) if r.limited_by else ""
            if not r.calibrated:
                note = "too few sign-ins: fixed default"
            self.stdout.write(
                f"{cfg.band_label(r.band):>8} {r.sign_ins:>9} {r.floored:>8} {r.challenge:>10.3f} {expected:>9}  {note}"
            )
        self.stdout.write("dry run: nothing stored" if dry_run else "stored; every process uses them within a minute")

    def handle_labels(self, options) -> None:
        targets = options["target"] or [0.9, 0.95, 0.99, 0.995]
        for target in targets:
            if not 0 < target <= 1:  # also refuses nan
                raise CommandError(f"--target {target}: must be a share of takeovers in (0, 1], e.g. 0.99")
        if not 0 <= options["max_deny_rate"] <= 1:
            raise CommandError(f"--max-deny-rate {options['max_deny_rate']}: must be a share in [0, 1], e.g. 0.002")
        try:
            with (
                open(options["scores"], newline="", encoding="utf-8") as s,
                open(options["input"], newline="", encoding="utf-8") as i,
            ):
                ato, legit = read_scores(s, i)
        except ReplayEncodingError as exc:
            path = options["scores"] if exc.what == "scores" else options["input"]
            raise CommandError(str(exc.located(path))) from exc
        except (OSError, ReplayFormatError) as exc:
            raise CommandError(str(exc)) from exc
        if not ato:
            raise CommandError("no account takeovers in the input: nothing to calibrate against")
        self.stdout.write(f"takeovers: {len(ato)}, legitimate sign-ins: {legit.n}")
        self.stdout.write(f"{'target':>8} {'CHALLENGE':>10} {'legit challenged':>17} {'DENY':>8} {'legit denied':>13}")
        result = None
        for target in targets:
            try:
                result = calibrate(ato, legit, target=target, max_deny_rate=options["max_deny_rate"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                f"{target:>8.3f} {result.challenge:>10.3f} "
                f"{100 * result.legit_challenge_rate:>16.2f}% "
                f"{result.deny:>8.3f} {100 * result.legit_deny_rate:>12.2f}%"
            )
        strong = (result.challenge + result.deny) / 2
        self.stdout.write(
            f'\nRISK_THRESHOLDS = {{"CHALLENGE": {result.challenge:.3f}, '
            f'"CHALLENGE_STRONG": {strong:.3f}, "DENY": {result.deny:.3f}}}  '
            f"# for target {targets[-1]}"
        )
        self.stdout.write(
            "Scores depend on what the replay learned under its own thresholds: "
            "replay again with the new ones to confirm."
        )
