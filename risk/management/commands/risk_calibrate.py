"""Suggest RISK_THRESHOLDS from a risk_replay output and the labelled input."""

from django.core.management.base import BaseCommand, CommandError

from risk.evaluation.calibrate import calibrate, read_scores
from risk.evaluation.replay import ReplayEncodingError, ReplayFormatError


class Command(BaseCommand):
    help = (
        "Read SCORES.csv (risk_replay --output) and the INPUT.csv it came from; print "
        "thresholds that catch the target share of account takeovers."
    )

    def add_arguments(self, parser):
        parser.add_argument("scores")
        parser.add_argument("input")
        parser.add_argument(
            "--target", type=float, action="append", help="Target takeover catch rate, e.g. 0.99 (repeatable)."
        )
        parser.add_argument(
            "--max-deny-rate", type=float, default=0.002, help="Largest share of legitimate sign-ins to deny (0.002)."
        )

    def handle(self, *args, **options):
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
