"""Replay a login trace (RBA data set CSV) through the engine; see docs/risk-model.md for the contract."""

import contextlib
import os
import secrets
import stat
import sys
import time

from django.core.management.base import BaseCommand, CommandError

from risk.evaluation.replay import ReplayEncodingError, Replayer, ReplayFormatError


def _same_file(a: str, b: str) -> bool:
    """Return whether paths ``a`` and ``b`` name one file (also through links)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


@contextlib.contextmanager
def _replaced_on_success(path: str):
    """Yield a text file to write; it becomes ``path`` only if the block finishes without error.

    The data goes to a temporary file next to the (link-resolved) target, which os.replace()
    puts in place at the end, so a failed replay leaves an existing ``path`` untouched and no
    partial file behind. A target that exists and is not a regular file (a pipe, /dev/stdout)
    is written directly: it cannot be replaced.
    """
    try:
        mode = os.stat(path).st_mode  # through links
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        with open(path, "w", newline="", encoding="utf-8") as fh:
            yield fh
        return
    target = os.path.realpath(path)
    directory, name = os.path.split(target)
    tmp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
    # An existing file keeps its permissions; a new one gets the usual 0666 less the umask.
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else stat.S_IMODE(mode))
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, path) from exc  # name the output, not the temp file
    fh = open(fd, "w", newline="", encoding="utf-8")
    try:
        with fh:
            if mode is not None:
                os.chmod(fh.fileno(), stat.S_IMODE(mode))
            yield fh
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class Command(BaseCommand):
    help = (
        "Replay INPUT.csv (RBA data set format, time order) through the risk engine in an "
        "isolated in-memory store; write index,score,decision,reasons and print a summary."
    )

    def add_arguments(self, parser):
        parser.add_argument("input", help="CSV in the RBA data set format ('-' for stdin).")
        parser.add_argument(
            "--output",
            "-o",
            help="Where to write the scores CSV; replaced only when the replay completes.",
        )
        parser.add_argument(
            "--baseline", action="store_true", help="Use the plain Freeman et al. policy (no rule signals)."
        )
        parser.add_argument(
            "--calibrate",
            action="store_true",
            help=(
                "Self-calibrating CHALLENGE thresholds, recomputed each day of the trace from the replayed "
                "completed sign-ins (RISK_TARGET_CHALLENGE_RATE, RISK_CALIBRATION), as risk_calibrate --apply "
                "does on the site."
            ),
        )
        parser.add_argument(
            "--ignore-rtt", action="store_true", help="Leave the Round-Trip Time [ms] column out (its effect)."
        )

    def handle(self, *args, **options):
        source, output = options["input"], options["output"]
        if output and source != "-" and _same_file(source, output):
            raise CommandError(f"--output {output} is the input file: the replay would destroy it")
        if options["calibrate"]:
            from risk.thresholds import calibration_problems

            problems = calibration_problems()
            if problems:
                raise CommandError("; ".join(problems))
        replayer = Replayer(
            baseline=options["baseline"], calibrate=options["calibrate"], use_rtt=not options["ignore_rtt"]
        )
        started = time.perf_counter()
        try:
            with contextlib.ExitStack() as stack:
                infile = sys.stdin if source == "-" else stack.enter_context(open(source, newline="", encoding="utf-8"))
                outfile = stack.enter_context(_replaced_on_success(output)) if output else None
                try:
                    stats = replayer.run(infile, outfile)
                except ReplayEncodingError as exc:
                    located = exc.located(source) if source != "-" else exc
                    raise CommandError(f"{source}: {located}") from exc
                except ReplayFormatError as exc:
                    raise CommandError(f"{source}: {exc}") from exc
        except OSError as exc:
            # Opening, writing or renaming; a failed output leaves no file behind (see above).
            raise CommandError(str(exc)) from exc
        elapsed = time.perf_counter() - started
        self.stdout.write(("baseline (plain Freeman)\n" if options["baseline"] else "") + stats.summary())
        if replayer.calibration is not None:
            cfg = replayer.calibration.cfg
            current = replayer.calibration.current
            self.stdout.write(
                f"self-calibrated CHALLENGE thresholds at the end (target {cfg.target:.2%}): "
                + ", ".join(
                    f"{cfg.band_label(i)}: {current[i]:.3f}" if i in current else f"{cfg.band_label(i)}: fixed"
                    for i in range(len(cfg.bands))
                )
            )
        self.stdout.write(f"time: {elapsed:.2f} s ({stats.rows / max(elapsed, 1e-9):.0f} rows/s)")
