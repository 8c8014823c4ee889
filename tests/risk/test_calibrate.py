import io
import tempfile
from pathlib import Path

from django.core.management import CommandError, call_command

from risk.evaluation.calibrate import calibrate, read_scores
from risk.evaluation.replay import Replayer, ReplayFormatError, ScoreHistogram
from risk.evaluation.simulate import SimConfig, simulate
from tests.base import SimpleTestCase


class CalibrateTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        trace = io.StringIO()
        simulate(trace, SimConfig(users=40, days=45, seed=5, attacks_per_day=2.0))
        cls.trace = trace.getvalue()
        scores = io.StringIO()
        Replayer().run(io.StringIO(cls.trace), scores)
        cls.scores = scores.getvalue()

    def test_threshold_catches_the_target_share(self):
        ato, legit = read_scores(io.StringIO(self.scores), io.StringIO(self.trace))
        self.assertTrue(ato)
        for target in (0.5, 0.9, 1.0):
            result = calibrate(ato, legit, target=target)
            caught = sum(s >= result.challenge for s in ato) / len(ato)
            self.assertGreaterEqual(caught, target)
            self.assertGreaterEqual(result.deny, result.challenge)
            self.assertLessEqual(result.legit_deny_rate, 0.002 + 1e-9)

    def test_hand_made_scores(self):
        legit = ScoreHistogram()
        for s in range(-10, 0):
            legit.add(float(s))
        result = calibrate([5.0, 3.0, 1.0, -5.5], legit, target=0.75, max_deny_rate=0.0)
        self.assertEqual(result.challenge, 1.0)
        self.assertEqual(result.legit_challenge_rate, 0.0)
        self.assertGreater(result.deny, -1.0)
        self.assertEqual(calibrate([5.0, 3.0, 1.0, -5.5], legit, target=1.0).challenge, -5.5)

    def test_mismatched_files_are_refused(self):
        other = io.StringIO()
        simulate(other, SimConfig(users=10, days=5, seed=9))
        with self.assertRaises(ReplayFormatError):
            read_scores(io.StringIO(self.scores), io.StringIO(other.getvalue()))

    def test_no_takeovers_cannot_be_calibrated(self):
        with self.assertRaises(ValueError):
            calibrate([], ScoreHistogram(), target=0.9)

    def test_command(self):
        with tempfile.TemporaryDirectory() as tmp:
            s, t = Path(tmp) / "scores.csv", Path(tmp) / "trace.csv"
            s.write_text(self.scores)
            t.write_text(self.trace)
            out = io.StringIO()
            call_command("risk_calibrate", str(s), str(t), "--target", "0.95", stdout=out)
            self.assertIn('RISK_THRESHOLDS = {"CHALLENGE":', out.getvalue())
            self.assertIn("0.950", out.getvalue())
            with self.assertRaises(CommandError):
                call_command("risk_calibrate", str(s), "/nonexistent.csv", stdout=io.StringIO())
