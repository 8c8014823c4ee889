"""The trained model: its file (loading, versions, fallback), scoring, reasons, and risk_train."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from unittest import mock

from django.core.management import CommandError, call_command
from django.test import override_settings

from risk.checks import check_risk_settings
from risk.decision import Decision
from risk.learned import (
    DEFAULT_MODEL_FILE,
    FEATURES,
    FORMAT_VERSION,
    LearnedPolicy,
    LogisticModel,
    ModelFileError,
    configured_model,
    features,
    load_model,
)
from risk.loading import clear_caches
from risk.policy import assess
from risk.store import MemoryCountStore
from tests.base import SimpleTestCase

from .factories import IPHONE, SYDNEY, ctx, history

POLICY = "risk.learned.LearnedPolicy"


def toy_model(**changes) -> LogisticModel:
    """A model that weighs a new address, a new browser and a new network; thresholds 0 / 2 / 6."""
    weights = [0.0] * len(FEATURES)
    for name, w in {"unseen:ip": 1.5, "unseen:ua": 1.0, "unseen:net": 2.0, "signal:ip_reputation": 1.0}.items():
        weights[FEATURES.index(name)] = w
    data = {
        "weights": tuple(weights),
        "bias": -2.0,
        "means": tuple([0.0] * len(FEATURES)),
        "scales": tuple([1.0] * len(FEATURES)),
        "thresholds": {"CHALLENGE": 0.0, "CHALLENGE_STRONG": 2.0, "DENY": 6.0},
        "training": {"auc": 0.9},
    }
    data.update(changes)
    return LogisticModel(**data)


class ModelFileTests(SimpleTestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp())
        self.addCleanup(clear_caches)

    def write(self, data) -> Path:
        path = self.dir / "model.json"
        path.write_text(data if isinstance(data, str) else json.dumps(data))
        return path

    def test_round_trip(self):
        model = toy_model()
        self.assertEqual(load_model(self.write(model.as_json())), model)

    def test_the_shipped_model_loads_with_its_training_figures(self):
        model = load_model(DEFAULT_MODEL_FILE)
        self.assertEqual(len(model.weights), len(FEATURES))
        for key in ("trained_on", "examples", "auc", "settled_challenged", "takeovers"):
            self.assertIn(key, model.training)
        self.assertLessEqual(model.thresholds["CHALLENGE"], model.thresholds["CHALLENGE_STRONG"])
        self.assertLessEqual(model.thresholds["CHALLENGE_STRONG"], model.thresholds["DENY"])

    def test_unusable_files_are_refused_with_the_reason(self):
        good = toy_model().as_json()
        cases = {
            "another version": ({**good, "version": FORMAT_VERSION + 1}, "version"),
            "other features": ({**good, "features": [*FEATURES[:-1], "network:something"]}, "other features"),
            "not a model": ({"hello": 1}, "not a risk model file"),
            "short weights": ({**good, "weights": good["weights"][:-1]}, "wrong lengths"),
            "infinite": ({**good, "bias": "Infinity"}, "non-finite"),
            "zero scale": ({**good, "scales": [0.0] * len(FEATURES)}, "positive"),
            "no thresholds": ({k: v for k, v in good.items() if k != "thresholds"}, "malformed"),
            "not json": ("{not json", "not JSON"),
        }
        for label, (data, message) in cases.items():
            with self.subTest(label), self.assertRaisesMessage(ModelFileError, message):
                load_model(self.write(data))
        with self.assertRaisesMessage(ModelFileError, "cannot read"):
            load_model(self.dir / "missing.json")

    def test_missing_or_mismatched_file_falls_back_to_the_hand_written_policy(self):
        store = MemoryCountStore()
        history(store, n=10)
        probe = ctx(ip="203.0.113.9", asn=16509, geo=SYDNEY, ua=IPHONE, minutes=60 * 24 * 11)
        for path in (self.dir / "missing.json", self.write({**toy_model().as_json(), "version": 99})):
            with self.subTest(path=path.name), override_settings(RISK_POLICY=POLICY, RISK_MODEL_FILE=str(path)):
                with self.assertLogs("risk.learned", "WARNING") as logs:
                    self.assertIsNone(configured_model())
                self.assertIn("risk_model_fallback", logs.output[0])
                fallback = assess(probe, store)
                with override_settings(RISK_POLICY="risk.policy.AdaptivePolicy"):
                    expected = assess(probe, store)
                self.assertEqual((fallback.score, fallback.decision), (expected.score, expected.decision))
                self.assertNotIn("learned", fallback.breakdown)
                warnings = [m for m in check_risk_settings() if m.id == "risk.W020"]
                self.assertEqual(len(warnings), 1)

    def test_an_unknown_policy_is_an_error(self):
        with override_settings(RISK_POLICY="clever"):
            errors = [m for m in check_risk_settings() if m.id == "risk.E020"]
        self.assertEqual(len(errors), 1)
        self.assertIn("adaptive, learned, freeman", errors[0].msg)

    def test_a_usable_file_raises_no_warning(self):
        with override_settings(RISK_POLICY=POLICY, RISK_MODEL_FILE=str(self.write(toy_model().as_json()))):
            self.assertEqual([m for m in check_risk_settings() if m.id == "risk.W020"], [])
            self.assertIsNotNone(configured_model())


class LearnedPolicyTests(SimpleTestCase):
    def setUp(self):
        self.store = MemoryCountStore()
        history(self.store, n=12)
        self.policy = LearnedPolicy(toy_model())
        self.addCleanup(clear_caches)

    def test_features_follow_the_context(self):
        snap = self.store.snapshot(1)
        home, _ = features(ctx(minutes=60 * 24 * 13), snap, [])
        away, _ = features(ctx(ip="203.0.113.9", asn=16509, ua=IPHONE, minutes=60 * 24 * 13), snap, [])
        for name in ("unseen:ip", "unseen:net", "unseen:ua"):
            self.assertEqual((home[FEATURES.index(name)], away[FEATURES.index(name)]), (0.0, 1.0), name)
        self.assertGreater(home[FEATURES.index("history:logins")], 2.0)
        self.assertGreater(away[FEATURES.index("freeman:ip")], home[FEATURES.index("freeman:ip")])

    def test_scores_and_explains_with_each_features_contribution(self):
        usual = assess(ctx(minutes=60 * 24 * 13), self.store, policy=self.policy, fail_closed=False)
        self.assertEqual(usual.decision, Decision.ALLOW)
        self.assertAlmostEqual(usual.score, -2.0)
        away = ctx(ip="203.0.113.9", asn=16509, geo=SYDNEY, ua=IPHONE, minutes=60 * 24 * 13)
        result = assess(away, self.store, policy=self.policy, fail_closed=False)
        self.assertAlmostEqual(result.score, -2.0 + 1.5 + 1.0 + 2.0)
        self.assertEqual(result.decision, Decision.CHALLENGE_STRONG)
        weights = {r.code: r.weight for r in result.reasons}
        self.assertEqual(weights["new_network"], 3.5)  # the address and the network
        self.assertEqual(weights["new_device"], 1.0)
        self.assertEqual(result.reason_codes[0], "new_network")  # strongest first
        self.assertAlmostEqual(result.breakdown["learned"], result.score)

    def test_signal_floors_still_apply_and_are_named(self):
        listed = ctx(reputation=True, minutes=60 * 24 * 13)
        result = assess(listed, self.store, policy=self.policy, fail_closed=False)
        self.assertEqual(result.decision, Decision.CHALLENGE)  # -2 + 1 is below 0, the floor lifts it
        self.assertIn("ip_reputation", result.reason_codes)

    def test_first_sign_in_is_left_to_the_hand_written_policy(self):
        result = assess(ctx(user_id=77), self.store, policy=self.policy, fail_closed=False)
        self.assertEqual(result.reason_codes[0], "first_login")

    def test_strict_mode_still_asks_every_time(self):
        with override_settings(RISK_MODE="strict"):
            result = assess(ctx(minutes=60 * 24 * 13), self.store, policy=self.policy, fail_closed=False)
        self.assertEqual(result.decision, Decision.CHALLENGE)

    def test_an_error_while_scoring_fails_closed(self):
        with mock.patch("risk.learned.features", side_effect=RuntimeError("boom")), self.assertLogs("risk.policy"):
            result = assess(ctx(minutes=60 * 24 * 13), self.store, policy=self.policy)
        self.assertEqual((result.decision, result.reason_codes), (Decision.CHALLENGE_STRONG, ("engine_error",)))

    def test_switchable_by_setting(self):
        path = Path(tempfile.mkdtemp()) / "m.json"
        path.write_text(json.dumps(toy_model(bias=5.0).as_json()))
        probe = ctx(minutes=60 * 24 * 13)
        self.assertNotIn("learned", assess(probe, self.store).breakdown)
        with override_settings(RISK_POLICY="learned", RISK_MODEL_FILE=str(path)):
            result = assess(probe, self.store)
        self.assertEqual((result.score, result.decision), (5.0, Decision.CHALLENGE_STRONG))
        self.assertEqual(result.breakdown["learned"], 5.0)


class TrainCommandTests(SimpleTestCase):
    def test_trains_a_model_that_loads_and_separates_attacks(self):
        out_dir = Path(tempfile.mkdtemp())
        target = out_dir / "model.json"
        out = io.StringIO()
        call_command("risk_train", "--users", "60", "--days", "60", "--seed", "4", "--output", str(target), stdout=out)
        model = load_model(target)
        self.assertIn("Wrote", out.getvalue())
        self.assertGreater(model.training["auc"], 0.8)
        self.assertGreater(sum(model.training["takeovers"].values()), 10)
        self.assertNotIn("very_targeted", model.training["takeovers"])
        self.assertEqual(oct(target.stat().st_mode & 0o777), "0o644")

    def test_clear_errors_and_no_file_written(self):
        tmp = Path(tempfile.mkdtemp())
        target = tmp / "model.json"
        with self.assertRaisesMessage(CommandError, "no such file"):
            call_command("risk_train", str(tmp / "missing.csv"), "--output", str(target))
        legit_only = tmp / "legit.csv"
        from risk.evaluation.simulate import SimConfig, simulate

        with open(legit_only, "w", newline="", encoding="utf-8") as fh:
            simulate(fh, SimConfig(users=20, days=20, attacks_per_day=0.0, seed=2))
        with self.assertRaisesMessage(CommandError, "both legitimate sign-ins and takeovers"):
            call_command("risk_train", str(legit_only), "--output", str(target))
        with self.assertRaisesMessage(CommandError, "--challenge-rate"):
            call_command("risk_train", str(legit_only), "--challenge-rate", "2", "--output", str(target))
        self.assertFalse(target.exists())


class FitTests(SimpleTestCase):
    def test_fit_separates_and_thresholds_meet_their_rates(self):
        import random

        from risk.evaluation.train import TrainingSet, train

        rng = random.Random(3)
        data = TrainingSet()
        net = FEATURES.index("unseen:net")
        for i in range(3000):
            attack = i % 20 == 0
            x = [rng.gauss(0, 1) for _ in FEATURES]
            x[net] = 1.0 if (attack and rng.random() < 0.9) or (not attack and rng.random() < 0.05) else 0.0
            data.x.append(x)
            data.y.append(int(attack))
            data.settled.append(not attack and i % 3 == 0)
        model = train(data, challenge_rate=0.1, description="synthetic")
        self.assertGreater(model.weights[net], 1.0)  # the informative feature carries the weight
        self.assertGreater(model.training["auc"], 0.85)
        scores = [model.log_odds(x) for x in data.x]
        settled = [s for s, ok in zip(scores, data.settled, strict=True) if ok]
        challenged = sum(s >= model.thresholds["CHALLENGE"] for s in settled) / len(settled)
        self.assertLessEqual(challenged, 0.1)
        self.assertGreater(challenged, 0.08)
        legit = [s for s, y in zip(scores, data.y, strict=True) if not y]
        self.assertGreater(model.thresholds["DENY"], max(legit))  # no legitimate training sign-in denied
        self.assertEqual(model.training["trained_on"], "synthetic")
