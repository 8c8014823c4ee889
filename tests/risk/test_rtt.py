"""Round-trip time: parsing, buckets, the model feature and its replay (docs/risk-model.md)."""

import math

from django.contrib.auth import get_user_model
from django.core.cache import cache

from authsite.core.parsing import parse_round_trip_ms
from risk.context import RTT_UNKNOWN, context_from_parts, rtt_buckets
from risk.model import RTT_MIN_LOG_RATIO, freeman_score
from risk.policy import learn
from risk.services import login_assess, login_succeeded
from risk.store import MemoryCountStore
from tests.base import SimpleTestCase, TestCase

from .factories import T0, ctx
from .test_replay import run, trace


def rtt_ctx(user_id=1, rtt=None, **kwargs):
    base = ctx(user_id, **kwargs)
    return context_from_parts(
        user_id=base.user_id,
        ip=base.ip,
        user_agent=base.user_agent,
        timestamp=base.timestamp,
        geo=base.geo,
        device_id=base.device_id,
        round_trip_ms=rtt,
    )


def rtt_history(store, user_id=1, rtts=(40, 42, 38, 41, 39, 40, 43, 37, 40, 41), **kwargs):
    for i, rtt in enumerate(rtts):
        learn(rtt_ctx(user_id, rtt, minutes=i * 60 * 24, **kwargs), store)


class ParseTests(SimpleTestCase):
    def test_values(self):
        self.assertEqual(parse_round_trip_ms("41.5"), 41.5)
        self.assertEqual(parse_round_trip_ms(" 12 "), 12.0)
        self.assertEqual(parse_round_trip_ms(7), 7.0)
        for absurd in ("", "-", "0", "-5", "nan", "inf", "1e9", "10000.1", "fast", "٣", "1" * 40, None, True, [], -1.0):
            with self.subTest(absurd=absurd):
                self.assertIsNone(parse_round_trip_ms(absurd))

    def test_context_keeps_unknown_for_absurd_values(self):
        self.assertIsNone(rtt_ctx(rtt=-3).round_trip_ms)
        self.assertEqual(rtt_ctx(rtt=float("nan")).rtt_levels, RTT_UNKNOWN)
        self.assertEqual(rtt_ctx(rtt="35").round_trip_ms, 35.0)

    def test_buckets_are_logarithmic(self):
        self.assertEqual(rtt_buckets(40), rtt_buckets(42))
        self.assertNotEqual(rtt_buckets(40)[0], rtt_buckets(80)[0])
        self.assertNotEqual(rtt_buckets(40)[1], rtt_buckets(90)[1])
        # The same relative change is the same number of buckets, fast or slow.
        fine = [int(rtt_buckets(v)[0][1:]) for v in (10, 20, 100, 200)]
        self.assertEqual(fine[1] - fine[0], fine[3] - fine[2])
        self.assertEqual(rtt_buckets(None), RTT_UNKNOWN)


class ModelTests(SimpleTestCase):
    def setUp(self):
        self.store = MemoryCountStore()
        rtt_history(self.store, 1)
        rtt_history(self.store, 2, rtts=(120, 130, 110, 125, 118, 122, 121, 119, 124, 126), ip="198.51.100.7")

    def feature(self, rtt):
        return freeman_score(rtt_ctx(1, rtt, minutes=60 * 24 * 20), self.store.snapshot(1)).features["rtt"]

    def test_usual_round_trip_never_lowers_the_score(self):
        # The page reports the time, so a forged one must not buy a lower score.
        usual = self.feature(40)
        self.assertFalse(usual.unseen)
        self.assertEqual(RTT_MIN_LOG_RATIO, 0.0)
        self.assertEqual(usual.log_ratio, 0.0)
        # A user with two usual times (home and mobile): the likelihood ratio of either is below 1
        # (it would lower the score) and the bound holds it at 0.
        rtt_history(self.store, 3, rtts=(20, 21, 20, 60, 62, 20, 61, 20), ip="192.0.2.30")
        for rtt in (20, 61):
            feature = freeman_score(rtt_ctx(3, rtt, minutes=60 * 24 * 20), self.store.snapshot(3)).features["rtt"]
            self.assertLess(feature.p_attack, feature.p_user)
            self.assertEqual(feature.log_ratio, 0.0)
        # A time between the two is new at the fine level only: it raises the score, less than an unseen one.
        between = freeman_score(rtt_ctx(3, 45, minutes=60 * 24 * 20), self.store.snapshot(3)).features["rtt"]
        self.assertFalse(between.unseen)
        self.assertGreater(between.log_ratio, 0.0)
        self.assertLess(between.log_ratio, math.log(4.0))

    def test_far_round_trip_counts_as_unseen(self):
        far = self.feature(400)
        self.assertTrue(far.unseen)
        self.assertAlmostEqual(far.log_ratio, math.log(4.0))
        self.assertGreater(far.log_ratio, self.feature(40).log_ratio)

    def test_missing_round_trip_is_never_a_pass(self):
        # This user always sent one: leaving it out (a script, a forger) scores like an unseen value.
        missing = self.feature(None)
        self.assertTrue(missing.unseen)
        self.assertGreaterEqual(missing.log_ratio, self.feature(40).log_ratio)

    def test_history_learned_before_the_feature_says_nothing(self):
        store = MemoryCountStore()
        for i in range(5):
            learn(rtt_ctx(1, 40, minutes=i * 60), store)
        state = store.users[1]
        for key in [k for k in state.counts if k[0] in ("rtt", "rttc", "rttn")]:
            del state.counts[key]  # as if learned by a version without the feature
        self.assertNotIn("rtt", freeman_score(rtt_ctx(1, 400, minutes=600), store.snapshot(1)).features)

    def test_sign_in_without_a_measuring_page_leaves_the_feature_out(self):
        # A passkey sign-in posts no form: nothing could measure, so nothing is held against it.
        base = rtt_ctx(1, None, minutes=60 * 24 * 20)
        passkey = context_from_parts(
            user_id=1,
            ip=base.ip,
            user_agent=base.user_agent,
            timestamp=base.timestamp,
            geo=base.geo,
            rtt_applicable=False,
        )
        self.assertEqual(passkey.rtt_levels, (None, None))
        self.assertNotIn("rtt", freeman_score(passkey, self.store.snapshot(1)).features)
        self.assertTrue(self.feature(None).unseen)  # the same sign-in through the form
        before = dict(self.store.users[1].counts)
        learn(passkey, self.store)
        after = self.store.users[1].counts
        self.assertEqual(
            {k: v for k, v in after.items() if k[0] in ("rtt", "rttc", "rttn")},
            {k: v for k, v in before.items() if k[0] in ("rtt", "rttc", "rttn")},
        )


class ReplayTests(SimpleTestCase):
    def rows(self, last_rtt):
        rows = [{"Round-Trip Time [ms]": str(40 + (i % 3))} for i in range(30)]
        rows.append({"Round-Trip Time [ms]": last_rtt, "Is Account Takeover": "True"})
        return trace(rows)

    def last_score(self, text, **kwargs):
        _, out, _ = run(text, **kwargs)
        return float(out[-1][1])

    def test_the_column_feeds_the_feature(self):
        usual = self.last_score(self.rows("41"))
        far = self.last_score(self.rows("350"))
        self.assertGreater(far, usual)
        # Without the column's values the two are the same row.
        self.assertEqual(
            self.last_score(self.rows("41"), use_rtt=False), self.last_score(self.rows("350"), use_rtt=False)
        )

    def test_absurd_values_are_unknown_not_errors(self):
        for value in ("-4", "abc", "1e12", ""):
            with self.subTest(value=value):
                self.assertEqual(self.last_score(self.rows(value)), self.last_score(self.rows("")))


class DatabaseStoreTests(TestCase):
    def setUp(self):
        cache.clear()
        self.user = get_user_model().objects.create_user(email="rtt@example.com", password="x" * 12)

    def test_site_learns_and_scores_the_round_trip(self):
        for i, rtt in enumerate((40, 41, 39, 42, 40, 38, 41, 40, 39, 42)):
            login_succeeded(context=rtt_ctx(self.user.pk, rtt, at=T0, minutes=i * 60 * 24, device_id="d"))
        usual = login_assess(context=rtt_ctx(self.user.pk, 40, at=T0, minutes=60 * 24 * 11, device_id="d"))
        far = login_assess(context=rtt_ctx(self.user.pk, 400, at=T0, minutes=60 * 24 * 11, device_id="d"))
        self.assertIn("rtt", usual.breakdown["features"])
        self.assertFalse(usual.breakdown["features"]["rtt"].unseen)
        self.assertTrue(far.breakdown["features"]["rtt"].unseen)
        self.assertAlmostEqual(
            far.score - usual.score,
            far.breakdown["features"]["rtt"].log_ratio - usual.breakdown["features"]["rtt"].log_ratio,
        )
