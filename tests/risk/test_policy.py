import math
from datetime import timedelta

from django.test import override_settings

from risk.decision import Decision
from risk.loading import get_policy
from risk.policy import AdaptivePolicy, FreemanPolicy, Reason, assess, decision_for, learn
from risk.signals import Signal, SignalResult
from risk.store import MemoryCountStore
from risk.velocity import MemoryVelocityStore
from tests.base import SimpleTestCase

from .factories import SYDNEY, ctx, history

THRESHOLDS = {"CHALLENGE": -1.3, "CHALLENGE_STRONG": 3.0, "DENY": 9.0}


def settled(n=20, **kwargs):
    store = MemoryCountStore()
    history(store, user_id=1, n=n, **kwargs)
    for uid in range(2, 6):  # other users, so the global counts mean something
        history(store, user_id=uid, n=n, ip=f"198.51.100.{uid}", asn=64501)
    return store


class FixedSignal(Signal):
    def __init__(self, result):
        self.result = result

    def evaluate(self, ctx, snap, velocity):
        return self.result


@override_settings(RISK_THRESHOLDS=THRESHOLDS)
class AdaptivePolicyTests(SimpleTestCase):
    def test_decision_for_thresholds(self):
        self.assertEqual(decision_for(-5, THRESHOLDS), Decision.ALLOW)
        self.assertEqual(decision_for(-1.3, THRESHOLDS), Decision.CHALLENGE)
        self.assertEqual(decision_for(3.0, THRESHOLDS), Decision.CHALLENGE_STRONG)
        self.assertEqual(decision_for(20, THRESHOLDS), Decision.DENY)

    def test_usual_context_is_allowed(self):
        result = assess(ctx(1, minutes=60 * 24 * 30), settled())
        self.assertEqual(result.decision, Decision.ALLOW)
        self.assertEqual(result.reasons, ())
        self.assertIn("model", result.breakdown)

    def test_foreign_hosting_script_is_denied_with_reasons(self):
        probe = ctx(
            1, ip="203.0.113.5", asn=16509, geo=SYDNEY, ua="curl/8.4.0", reputation=True, minutes=60 * 24 * 19 + 30
        )
        result = assess(probe, settled())
        self.assertEqual(result.decision, Decision.DENY)
        codes = result.reason_codes
        for code in (
            "new_device",
            "new_network",
            "new_country",
            "hosting_network",
            "automation",
            "ip_reputation",
            "impossible_travel",
        ):
            self.assertIn(code, codes)
        texts = [r.text for r in result.reasons]
        self.assertIn("We don't recognise this device", texts)
        self.assertIn("This sign-in is from a new country", texts)

    def test_network_terms_are_bounded(self):
        policy = AdaptivePolicy()
        big = [
            SignalResult("ip_reputation", 30.0, "x", network=True),
            SignalResult("hosting_network", 30.0, "y", network=True),
        ]
        result = policy.decide(ctx(1), settled().snapshot(1), big, None)
        self.assertEqual(result.breakdown["network"], policy.network_cap)
        self.assertNotEqual(result.decision, Decision.DENY)

    def test_floor_raises_the_decision(self):
        floor = FixedSignal(SignalResult("impossible_travel", 0.0, "t", floor=Decision.CHALLENGE))
        result = assess(ctx(1, minutes=60 * 24 * 30), settled(), signals=[floor])
        self.assertEqual(result.decision, Decision.CHALLENGE)
        self.assertIn("impossible_travel", result.reason_codes)

    def test_trust_never_overrides_a_deny(self):
        deny = FixedSignal(SignalResult("account_failure_limit", 10.0, "d", floor=Decision.DENY))
        store = settled(device_id="cookie")
        probe = ctx(1, device_id="cookie", trusted=True, minutes=60 * 24 * 30)
        result = assess(probe, store, signals=[deny, *_default_device()])
        self.assertEqual(result.decision, Decision.DENY)
        # ... nor a DENY reached by score alone.
        hot = FixedSignal(SignalResult("automation", 12.0, "a"))
        result = assess(probe, store, signals=[hot, *_default_device()])
        self.assertEqual(result.decision, Decision.DENY)

    def test_trusted_device_softens_a_challenge(self):
        store = settled(device_id="cookie")
        probe = ctx(1, ip="192.0.2.99", asn=64999, device_id="cookie", trusted=True, minutes=60 * 24 * 30)
        without = assess(ctx(1, ip="192.0.2.99", asn=64999, device_id="stranger", minutes=60 * 24 * 30), store)
        with_trust = assess(probe, store)
        self.assertLess(with_trust.score, without.score)
        self.assertEqual(with_trust.decision, Decision.ALLOW)
        self.assertNotEqual(without.decision, Decision.ALLOW)

    def test_first_login_is_challenged_by_default(self):
        result = assess(ctx(99), settled())
        self.assertEqual(result.decision, Decision.CHALLENGE)
        self.assertEqual(result.reason_codes[0], "first_login")
        self.assertIsNone(result.breakdown["model"])

    @override_settings(RISK_FIRST_LOGIN="allow")
    def test_first_login_rule_is_a_setting(self):
        self.assertEqual(assess(ctx(99), settled()).decision, Decision.ALLOW)

    @override_settings(RISK_FIRST_LOGIN="allow")
    def test_first_login_from_a_bad_place_is_still_challenged(self):
        result = assess(ctx(99, ua="curl/8.4.0", reputation=True), settled())
        self.assertNotEqual(result.decision, Decision.ALLOW)

    def test_engine_failure_fails_closed(self):
        class Broken(MemoryCountStore):
            def snapshot(self, user_id, keys=()):
                raise RuntimeError("database down")

        with self.assertLogs("risk.policy", "ERROR"):
            result = assess(ctx(1), Broken())
        self.assertEqual(result.decision, Decision.CHALLENGE_STRONG)
        self.assertEqual(result.reason_codes, ("engine_error",))
        self.assertTrue(math.isinf(result.score))

    def test_learn_resets_account_failures(self):
        store, velocity = MemoryCountStore(), MemoryVelocityStore()
        probe = ctx(1)
        for _ in range(3):
            velocity.record_failure(1, probe.ip, probe.timestamp - timedelta(seconds=5))
        learn(probe, store, velocity)
        self.assertEqual(velocity.counts(1, probe.ip, probe.timestamp).account_failures, 0)
        self.assertEqual(store.users[1].profile.n_success, 1)


def _default_device():
    from risk.signals.device import KnownDeviceSignal

    return [KnownDeviceSignal()]


@override_settings(RISK_THRESHOLDS=THRESHOLDS, RISK_MODE="strict")
class StrictModeTests(SimpleTestCase):
    def test_every_login_is_at_least_challenged(self):
        result = assess(ctx(1, minutes=60 * 24 * 30), settled())
        self.assertEqual(result.decision, Decision.CHALLENGE)
        self.assertIn("strict_mode", result.reason_codes)

    def test_trusted_device_never_replaces_the_factor(self):
        store = settled(device_id="cookie")
        result = assess(ctx(1, device_id="cookie", trusted=True, minutes=60 * 24 * 30), store)
        self.assertEqual(result.decision, Decision.CHALLENGE)

    def test_risk_still_raises_strength_and_denies(self):
        probe = ctx(
            1, ip="203.0.113.5", asn=16509, geo=SYDNEY, ua="curl/8.4.0", reputation=True, minutes=60 * 24 * 19 + 30
        )
        self.assertEqual(assess(probe, settled()).decision, Decision.DENY)


@override_settings(RISK_THRESHOLDS=THRESHOLDS)
class BaselineTests(SimpleTestCase):
    def test_freeman_policy_ignores_signals(self):
        probe = ctx(1, reputation=True, ua="curl/8.4.0", minutes=60 * 24 * 30)
        base = assess(probe, settled(), policy=FreemanPolicy())
        adaptive = assess(probe, settled(), policy=AdaptivePolicy())
        self.assertEqual(base.score, base.breakdown["model"])
        self.assertGreater(adaptive.score, base.score)

    @override_settings(RISK_POLICY="risk.policy.FreemanPolicy")
    def test_policy_is_swappable(self):
        self.assertIsInstance(get_policy(), FreemanPolicy)

    def test_default_policy(self):
        self.assertIsInstance(get_policy(), AdaptivePolicy)


@override_settings(RISK_THRESHOLDS=THRESHOLDS)
class ReasonWeightTests(SimpleTestCase):
    """Each reason carries what it added to the score; decisions and scores do not change."""

    def test_signal_reasons_carry_the_signal_weights(self):
        probe = ctx(
            1, ip="203.0.113.5", asn=16509, geo=SYDNEY, ua="curl/8.4.0", reputation=True, minutes=60 * 24 * 19 + 30
        )
        weights = {r.code: r.weight for r in assess(probe, settled()).reasons}
        expected = {
            "ip_reputation": 3.0,
            "hosting_network": 2.0,
            "impossible_travel": 2.5,
            "automation": 3.0,
            "new_country": 1.5,
            "new_network": 1.5,
        }
        for code, weight in expected.items():
            self.assertEqual(weights[code], weight, code)

    def test_model_reasons_carry_the_feature_log_likelihood_ratio(self):
        # Same network, another browser and OS: only the model explains the challenge.
        firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
        probe = ctx(1, ua=firefox, minutes=60 * 24 * 30)
        result = assess(probe, settled(), signals=[])
        self.assertNotEqual(result.decision, Decision.ALLOW)
        reason = next(r for r in result.reasons if r.code == "new_device")
        self.assertEqual(reason.weight, result.breakdown["features"]["ua"].log_ratio)
        self.assertGreater(reason.weight, 0.0)  # the device type is known, the rest is new

    def test_new_network_from_the_model_weighs_the_ip_feature(self):
        probe = ctx(1, ip="203.0.113.9", asn=64999, minutes=60 * 24 * 30)
        result = assess(probe, settled(), policy=FreemanPolicy())
        reason = next(r for r in result.reasons if r.code == "new_network")
        self.assertEqual(reason.weight, result.breakdown["features"]["ip"].log_ratio)

    def test_trust_reasons_carry_negative_weights_on_allow(self):
        store = settled(device_id="cookie")
        result = assess(ctx(1, device_id="cookie", minutes=60 * 24 * 30), store)
        self.assertEqual(result.decision, Decision.ALLOW)
        self.assertEqual([(r.code, r.weight) for r in result.reasons], [("known_device", -2.0)])
        self.assertEqual(result.breakdown["trust"], -2.0)

    def test_first_login_weighs_the_score_that_stands_in_for_the_model(self):
        result = assess(ctx(99), settled())
        self.assertEqual(result.reasons[0].code, "first_login")
        self.assertEqual(result.reasons[0].weight, THRESHOLDS["CHALLENGE"])
        self.assertEqual(result.score, THRESHOLDS["CHALLENGE"])

    def test_weights_do_not_change_scores_or_decisions(self):
        probe = ctx(1, ip="203.0.113.5", asn=16509, geo=SYDNEY, minutes=60 * 24 * 19 + 30)
        result = assess(probe, settled())
        signal_sum = sum(r.weight for r in result.reasons if r.code not in {"new_device", "unusual_context"})
        self.assertAlmostEqual(
            result.breakdown["network"] + result.breakdown["signals"] + result.breakdown["trust"], signal_sum
        )

    def test_as_dict_includes_the_weight_only_when_known(self):
        from risk.policy import Reason

        self.assertEqual(Reason("new_country", "t", 1.5).as_dict(), {"code": "new_country", "text": "t", "weight": 1.5})
        self.assertEqual(Reason("strict_mode", "t").as_dict(), {"code": "strict_mode", "text": "t"})


class ReasonTests(SimpleTestCase):
    def test_only_reasons_that_add_to_the_score_explain_asking_more(self):
        self.assertFalse(Reason("known_device", "You have signed in from this device before", -2.0).raises_risk)
        self.assertTrue(Reason("new_device", "We don't recognise this device", 1.3).raises_risk)
        self.assertFalse(Reason("neutral", "Adds nothing", 0.0).raises_risk)
        # Without a weight (strict mode, an engine error, events stored before weights): shown.
        self.assertTrue(Reason("strict_mode", "Every sign-in asks for a second step").raises_risk)
        # A reason that set a floor under the decision asked for more, whatever it added to the score.
        self.assertTrue(Reason("unknown_device", "We don't recognise this device", 0.0, "challenge").raises_risk)

    def test_each_text_is_told_once(self):
        from risk.policy import reason_texts

        same = "We don't recognise this device"
        reasons = [
            Reason("new_device", same, 1.4),
            {"code": "unknown_device", "text": same, "weight": 2.0},
            {"code": "new_network", "text": "A new network", "weight": 0.8},
            Reason("known_device", "Seen before", -2.0),
            {"code": "unknown_device", "text": "Young", "weight": 0.0, "floor": "challenge"},
            {"code": "neutral", "text": "Adds nothing", "weight": 0.0},
            "not a reason",
        ]
        self.assertEqual(reason_texts(reasons), [same, "A new network", "Young"])
