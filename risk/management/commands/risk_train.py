"""Train the risk engine's logistic model (risk/learned.py) from replayed history with injected attacks."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from risk.evaluation.replay import ReplayFormatError
from risk.learned import DEFAULT_MODEL_FILE, ModelFileError, load_model


class Command(BaseCommand):
    help = (
        "Replay traces in the RBA data set format whose takeovers come from the published attacker "
        "models (an 'Attacker Type' column: naive, vpn, targeted), fit the logistic model of "
        "risk/learned.py on the engine's features and write it, with its training figures, as JSON. "
        "Without TRACE, a trace is simulated (risk/evaluation/simulate.py, --users, --days, --seed)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("traces", nargs="*", metavar="TRACE", help="CSV traces in the RBA format")
        parser.add_argument("--output", "-o", default=str(DEFAULT_MODEL_FILE), help="model file to write")
        parser.add_argument("--users", type=int, default=1000, help="simulated users without TRACE (1000)")
        parser.add_argument("--days", type=int, default=180, help="simulated days without TRACE (180)")
        parser.add_argument("--seed", type=int, default=1, help="simulation seed without TRACE (1)")
        parser.add_argument(
            "--challenge-rate",
            type=float,
            default=0.04,
            help="share of settled legitimate sign-ins the CHALLENGE threshold may challenge (0.04)",
        )
        parser.add_argument(
            "--device-ids", action="store_true", help="read the traces' Device ID column (the site's device cookie)"
        )

    def handle(self, *args, **options) -> None:
        from risk.evaluation.train import collect, train

        rate = options["challenge_rate"]
        if not 0 < rate < 1:
            raise CommandError("--challenge-rate must be between 0 and 1.")
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            traces = [Path(t) for t in options["traces"]]
            for trace in traces:
                if not trace.is_file():
                    raise CommandError(f"{trace}: no such file.")
            if traces:
                description = ", ".join(t.name for t in traces)
            else:
                from risk.evaluation.simulate import SimConfig, simulate

                users, days, seed = options["users"], options["days"], options["seed"]
                trace = Path(tmp) / "train.csv"
                with open(trace, "w", newline="", encoding="utf-8") as fh:
                    simulate(fh, SimConfig(users=users, days=days, seed=seed))
                traces = [trace]
                description = f"risk/evaluation/simulate.py, {users} users, {days} days, seed {seed}"
            try:
                data = collect(traces, use_device_ids=options["device_ids"])
                model = train(data, challenge_rate=rate, description=description)
            except ReplayFormatError as exc:
                raise CommandError(str(exc)) from exc
            except ValueError as exc:
                raise CommandError(f"cannot train: {exc}") from exc
        self._write(Path(options["output"]), model.as_json())
        figures = model.training
        self.stdout.write(
            f"Trained on {figures['examples']} sign-ins with history ({figures['rows_replayed']} rows replayed, "
            f"takeovers {figures['takeovers']}) in {time.perf_counter() - started:.1f} s.\n"
            f"Training figures: AUC {figures['auc']}, settled legitimate challenged {figures['settled_challenged']}, "
            f"legitimate denied {figures['legit_denied']}, takeovers caught {figures['takeovers_caught']}.\n"
            f"Wrote {options['output']}."
        )

    @staticmethod
    def _write(path: Path, data: dict) -> None:
        """Write the model next to its target and move it in place, then check it reads back."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            os.chmod(fd, 0o644)  # a model file is not secret; mkstemp makes it private
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1)
                fh.write("\n")
            load_model(tmp)
            os.replace(tmp, path)
        except (OSError, ModelFileError) as exc:
            Path(tmp).unlink(missing_ok=True)
            raise CommandError(f"cannot write {path}: {exc}") from exc
