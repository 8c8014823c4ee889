import csv
import io
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings

from risk.evaluation.simulate import ATTACKER_TYPES, EXTRA, HEADER, SimConfig, simulate
from tests.base import SimpleTestCase


def generate(**kw):
    out = io.StringIO()
    simulate(out, SimConfig(**{"users": 30, "days": 40, "attacks_per_day": 3.0, **kw}))
    return out.getvalue()


class SimulatorTests(SimpleTestCase):
    def test_deterministic_for_a_seed(self):
        self.assertEqual(generate(seed=4), generate(seed=4))
        self.assertNotEqual(generate(seed=4), generate(seed=5))

    def test_format_and_labels(self):
        rows = list(csv.DictReader(io.StringIO(generate(seed=2))))
        self.assertEqual(tuple(rows[0].keys()), HEADER + EXTRA)
        times = [r["Login Timestamp"] for r in rows]
        self.assertEqual(times, sorted(times))
        self.assertEqual([int(r["index"]) for r in rows], list(range(len(rows))))
        takeovers = [r for r in rows if r["Is Account Takeover"] == "True"]
        self.assertTrue(takeovers)
        for r in takeovers:
            self.assertEqual(r["Login Successful"], "True")
            self.assertIn(r["Attacker Type"], ATTACKER_TYPES)
        legit = [r for r in rows if not r["Attacker Type"]]
        self.assertTrue(all(r["Is Account Takeover"] == "False" for r in legit))
        self.assertTrue(any(r["Login Successful"] == "False" for r in legit))  # typos
        self.assertEqual({r["Attacker Type"] for r in takeovers} - set(ATTACKER_TYPES), set())

    def test_attacks_start_after_warmup(self):
        rows = list(csv.DictReader(io.StringIO(generate(seed=2, warmup_days=20))))
        first = min(r["Login Timestamp"] for r in rows if r["Attacker Type"])
        self.assertGreaterEqual(first, "2024-01-21")

    def test_without_coordinates(self):
        header = generate(seed=1, coordinates=False).splitlines()[0]
        self.assertNotIn("Latitude", header)
        self.assertIn("Attacker Type", header)

    def test_cli(self):
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "t.csv"
            subprocess.run(
                [
                    sys.executable,
                    str(Path(settings.BASE_DIR) / "bench" / "sim_trace.py"),
                    str(target),
                    "--users",
                    "5",
                    "--days",
                    "3",
                ],
                check=True,
                capture_output=True,
            )
            self.assertTrue(target.read_text().startswith("index,Login Timestamp"))
