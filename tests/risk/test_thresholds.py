"""Self-calibrating thresholds: the arithmetic (risk/thresholds.py) and its replay (docs/risk-model.md)."""

import csv
import io
import math
import tempfile
from pathlib import Path

from django.core.management import CommandError, call_command
from django.test import override_settings

from risk.evaluation.simulate import SimConfig, simulate
from risk.thresholds import (
    BIN_WIDTH,
    RollingCalibration,
    ScoreCounts,
    ThresholdTable,
    band_threshold,
    calibration_problems,
    calibration_settings,
)
from tests.base import SimpleTestCase

from .test_replay import run, trace


def counts_of(scores, cfg, floored=0):
    counts = ScoreCounts(cfg.floor, cfg.ceiling)
    for s in scores:
        counts.add(s)
    for _ in range(floored):
        counts.add(0.0, floored=True)
    return counts


def challenged_share(scores, threshold, floored=0):
    return (sum(s >= threshold for s in scores) + floored) / (len(scores) + floored)


class BandThresholdTests(SimpleTestCase):
    def setUp(self):
        # Wide bounds and no step limit unless a test says otherwise.
        self.cfg = calibration_settings(target=0.03, min_sign_ins=100, floor=-4.0, ceiling=4.0, max_step=100.0)

    def test_known_answer_is_the_upper_quantile(self):
        # 1,000 scores evenly from -3.0 to 1.995: 3% of them (30) are at or above 1.85.
        scores = [-3.0 + k / 200 for k in range(1000)]
        result = band_threshold(counts_of(scores, self.cfg), 0, self.cfg)
        self.assertTrue(result.calibrated)
        self.assertAlmostEqual(result.challenge, 1.85, delta=BIN_WIDTH)
        self.assertLessEqual(challenged_share(scores, result.challenge), 0.03)
        # The lowest such grid point: one step lower would challenge more than the target.
        self.assertGreater(challenged_share(scores, result.challenge - BIN_WIDTH), 0.03)
        self.assertAlmostEqual(result.expected_rate, challenged_share(scores, result.challenge))

    def test_other_targets(self):
        scores = [-3.0 + k / 200 for k in range(1000)]
        for target, expected in ((0.10, 1.5), (0.5, -0.5)):
            cfg = calibration_settings(target=target, min_sign_ins=100, floor=-4.0, ceiling=4.0, max_step=100.0)
            result = band_threshold(counts_of(scores, cfg), 0, cfg)
            self.assertAlmostEqual(result.challenge, expected, delta=BIN_WIDTH)
            self.assertLessEqual(challenged_share(scores, result.challenge), target)

    def test_rule_challenges_count_towards_the_target(self):
        # 10 of 1,000 sign-ins were challenged by a rule whatever their score: only 20 more may be.
        scores = [-3.0 + k / 200 for k in range(990)]
        result = band_threshold(counts_of(scores, self.cfg, floored=10), 0, self.cfg)
        self.assertLessEqual(challenged_share(scores, result.challenge, floored=10), 0.03)
        self.assertGreater(challenged_share(scores, result.challenge - BIN_WIDTH, floored=10), 0.03)
        self.assertEqual(result.floored, 10)

    def test_too_few_sign_ins_keep_the_fixed_default(self):
        cfg = calibration_settings(target=0.03, min_sign_ins=500)
        result = band_threshold(counts_of([5.0] * 499, cfg), 0, cfg)
        self.assertFalse(result.calibrated)
        self.assertEqual(result.challenge, cfg.default)
        self.assertIsNone(result.expected_rate)

    def test_never_above_the_ceiling_nor_challenge_strong_nor_deny(self):
        with override_settings(RISK_THRESHOLDS={"CHALLENGE": -1.3, "CHALLENGE_STRONG": 1.5, "DENY": 9.0}):
            cfg = calibration_settings(target=0.03, min_sign_ins=10, max_step=100.0)
        self.assertEqual(cfg.ceiling, 1.5)
        # Every completed sign-in scored high (a run of high-scoring successes): the threshold
        # rises no further than the ceiling.
        result = band_threshold(counts_of([8.0] * 1000, cfg), 0, cfg)
        self.assertEqual(result.challenge, 1.5)
        self.assertEqual(result.limited_by, "ceiling")

    def test_never_below_the_floor(self):
        result = band_threshold(counts_of([-30.0] * 1000, self.cfg), 0, self.cfg)
        self.assertEqual(result.challenge, self.cfg.floor)
        self.assertEqual(result.limited_by, "floor")

    def test_moves_at_most_one_step_from_the_threshold_in_force(self):
        cfg = calibration_settings(target=0.03, min_sign_ins=10, floor=-4.0, ceiling=4.0, max_step=0.5)
        up = band_threshold(counts_of([3.0] * 1000, cfg), 0, cfg, previous=-1.0)
        self.assertEqual((up.challenge, up.limited_by), (-0.5, "step"))
        down = band_threshold(counts_of([-3.9] * 1000, cfg), 0, cfg, previous=-1.0)
        self.assertEqual((down.challenge, down.limited_by), (-1.5, "step"))
        # Without a threshold in force, the step is measured from the fixed default.
        first = band_threshold(counts_of([3.0] * 1000, cfg), 0, cfg)
        self.assertEqual(first.challenge, round(cfg.default + 0.5, 4))

    def test_bands(self):
        cfg = calibration_settings(bands=(1, 3, 10, 50))
        self.assertEqual([cfg.band_of(n) for n in (0, 1, 2, 3, 9, 10, 49, 50, 10_000)], [None, 0, 0, 1, 1, 2, 2, 3, 3])
        self.assertEqual([cfg.band_label(i) for i in range(4)], ["1-2", "3-9", "10-49", "50+"])

    def test_table_replaces_only_challenge(self):
        fixed = {"CHALLENGE": -1.3, "CHALLENGE_STRONG": 4.5, "DENY": 9.0}
        table = ThresholdTable(fixed, (1, 10), {1: -2.0})
        self.assertIs(table.for_history(0), fixed)  # no history: the first-login rule, never calibrated
        self.assertIs(table.for_history(5), fixed)
        self.assertEqual(table.for_history(10), {"CHALLENGE": -2.0, "CHALLENGE_STRONG": 4.5, "DENY": 9.0})


class SettingsTests(SimpleTestCase):
    def test_defaults_are_usable(self):
        self.assertEqual(calibration_problems(), [])

    def test_bad_settings_are_named(self):
        cases = (
            ({"RISK_TARGET_CHALLENGE_RATE": 0}, "RISK_TARGET_CHALLENGE_RATE"),
            ({"RISK_TARGET_CHALLENGE_RATE": "lots"}, "RISK_TARGET_CHALLENGE_RATE"),
            ({"RISK_CALIBRATION": {"FLOOR": 5.0}}, "FLOOR"),
            ({"RISK_CALIBRATION": {"BANDS": "ten"}}, "numbers"),
            ({"RISK_CALIBRATION": {"BANDS": [0, 10]}}, "BANDS"),
            ({"RISK_CALIBRATION": {"MAX_STEP": 0}}, "MAX_STEP"),
        )
        for settings, word in cases:
            with self.subTest(settings=settings), override_settings(**settings):
                self.assertIn(word, " ".join(calibration_problems()))


class RollingCalibrationTests(SimpleTestCase):
    def test_recomputed_per_day_from_the_window_only(self):
        cfg = calibration_settings(target=0.1, min_sign_ins=50, window_days=2, floor=-4.0, ceiling=4.0, max_step=100.0)
        rolling = RollingCalibration(cfg)
        high = [-3.0 + k / 10 for k in range(60)]  # -3.0 .. 2.9
        low = [-3.9 + k / 100 for k in range(60)]  # -3.9 .. -3.31
        for day, scores in ((1, high), (2, high), (3, low), (4, low), (5, low)):
            rolling.advance(day)
            for s in scores:
                rolling.observe(20, s, floored=False)
        rolling.advance(6)
        # Days 4 and 5 are in the window: only the low scores count.
        self.assertLessEqual(rolling.current[2], -3.3)
        self.assertEqual(rolling.for_history(20)["CHALLENGE"], rolling.current[2])
        # Days 1-2 alone (window of day 3) gave a higher threshold.
        day3 = dict(rolling.history)[3]
        self.assertGreater(day3[2].challenge, 2.0)
        # Other bands never had data: the fixed default.
        self.assertNotIn(0, rolling.current)
        self.assertEqual(rolling.for_history(1)["CHALLENGE"], cfg.default)

    def test_first_sign_ins_and_engine_errors_are_not_counted(self):
        rolling = RollingCalibration(calibration_settings(min_sign_ins=1))
        rolling.advance(1)
        rolling.observe(0, 5.0, floored=False)
        rolling.observe(20, math.inf, floored=False)
        rolling.advance(2)
        self.assertEqual(rolling.current, {})


def calibration_trace():
    text = io.StringIO()
    simulate(text, SimConfig(users=60, days=40, seed=3, attacks_per_day=3.0))
    return text.getvalue()


@override_settings(RISK_CALIBRATION={"MIN_SIGN_INS": 100, "WINDOW_DAYS": 14})
class ReplayCalibrationTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.trace = calibration_trace()

    def test_replay_recomputes_thresholds_as_it_goes(self):
        fixed_stats, fixed_rows, _ = run(self.trace)
        stats, rows, replayer = run(self.trace, calibrate=True)
        self.assertIsNotNone(replayer.calibration)
        self.assertTrue(replayer.calibration.current, "some band reached the minimum and was calibrated")
        self.assertGreater(len(replayer.calibration.history), 30)
        self.assertNotEqual([r[2] for r in rows], [r[2] for r in fixed_rows])
        self.assertEqual(stats.scored, fixed_stats.scored)
        for value in replayer.calibration.current.values():
            cfg = replayer.calibration.cfg
            self.assertTrue(cfg.floor <= value <= cfg.ceiling)

    def test_labels_of_allowed_sign_ins_do_not_move_the_thresholds(self):
        # An allowed sign-in succeeds whatever its label, so relabelling it changes nothing the
        # replay may use: thresholds come from outcomes, never labels.
        _, rows, replayer = run(self.trace, calibrate=True)
        allowed = {r[0] for r in rows[1:] if r[2] == "allow"}
        self.assertGreater(len(allowed), 1000)
        table = list(csv.reader(io.StringIO(self.trace)))
        i_ato = table[0].index("Is Account Takeover")
        for row in table[1:]:
            if row[0] in allowed:
                row[i_ato] = "True" if row[i_ato] == "False" else "False"
        flipped = io.StringIO()
        csv.writer(flipped).writerows(table)
        _, rows2, replayer2 = run(flipped.getvalue(), calibrate=True)
        self.assertEqual([r[1:] for r in rows], [r[1:] for r in rows2])
        self.assertEqual(replayer.calibration.history, replayer2.calibration.history)

    def test_command_prints_the_thresholds_it_ended_with(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "trace.csv"
            path.write_text(self.trace, encoding="utf-8")
            out = io.StringIO()
            call_command("risk_replay", str(path), "--calibrate", stdout=out)
            self.assertRegex(out.getvalue(), r"self-calibrated CHALLENGE thresholds at the end \(target 3\.00%\): 1-2")
            fixed = io.StringIO()
            call_command("risk_replay", str(path), "--ignore-rtt", stdout=fixed)
            self.assertNotIn("self-calibrated", fixed.getvalue())
            with (
                override_settings(RISK_TARGET_CHALLENGE_RATE=0),
                self.assertRaisesRegex(CommandError, "RISK_TARGET_CHALLENGE_RATE"),
            ):
                call_command("risk_replay", str(path), "--calibrate", stdout=io.StringIO())

    def test_fixed_thresholds_without_the_option(self):
        _, _, replayer = run(trace([{}]))
        self.assertIsNone(replayer.calibration)
