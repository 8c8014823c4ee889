import math

from hypothesis import given
from hypothesis import strategies as st

from risk.model import (
    IP_LEVELS,
    IP_WEIGHTS,
    UA_WEIGHTS,
    CountsSnapshot,
    freeman_score,
    score_hierarchy,
)
from risk.store import MemoryCountStore
from tests.base import SimpleTestCase

from .factories import ctx, history


def snapshot(**kw):
    base = {
        "n_user": 4,
        "user": {("ip", "1.1.1.1"): 2, ("net", "AS1"): 4, ("cc", "NO"): 4},
        "glob": {("ip", "1.1.1.1"): 2, ("net", "AS1"): 10, ("cc", "NO"): 50},
        "totals": {"ip": 100, "net": 100, "cc": 100},
        "distinct": {"ip": 40, "net": 10, "cc": 3},
        "n_total": 100,
        "n_users": 20,
    }
    base.update(kw)
    return CountsSnapshot(**base)


class HierarchyTests(SimpleTestCase):
    def test_weights_are_the_published_ones(self):
        self.assertEqual(IP_WEIGHTS, (0.6, 0.3, 0.1))
        self.assertEqual(UA_WEIGHTS, (0.5387, 0.2680, 0.1882, 0.0051))
        self.assertAlmostEqual(sum(UA_WEIGHTS), 1.0)

    def test_hand_computed_mixture_with_smoothing(self):
        fs = score_hierarchy(IP_LEVELS, IP_WEIGHTS, ("1.1.1.1", "AS1", "NO"), snapshot(), 4.0)
        # M = distinct values of the coarser levels + 1: cc 0+1, net 3+1, ip 3+10+1.
        p_a = 0.6 * 2 / 114 + 0.3 * 10 / 104 + 0.1 * 50 / 101
        p_u = 0.6 * 2 / 4 + 0.3 * 4 / 4 + 0.1 * 4 / 4
        self.assertAlmostEqual(fs.p_attack, p_a)
        self.assertAlmostEqual(fs.p_user, p_u)
        self.assertAlmostEqual(fs.log_ratio, math.log(p_a) - math.log(p_u))
        self.assertFalse(fs.unseen)

    def test_globally_unseen_value_counts_as_one_over_n_plus_m(self):
        fs = score_hierarchy(IP_LEVELS, IP_WEIGHTS, ("9.9.9.9", "AS1", "NO"), snapshot(), 4.0)
        p_a = 0.6 * 1 / 114 + 0.3 * 10 / 104 + 0.1 * 50 / 101
        self.assertAlmostEqual(fs.p_attack, p_a)
        self.assertAlmostEqual(fs.p_user, 0.3 + 0.1)

    def test_unseen_at_every_level_uses_the_fixed_factor(self):
        fs = score_hierarchy(IP_LEVELS, IP_WEIGHTS, ("9.9.9.9", "AS9", "AU"), snapshot(), 4.0)
        self.assertTrue(fs.unseen)
        self.assertAlmostEqual(fs.log_ratio, math.log(4.0))

    def test_missing_level_renormalises_the_weights(self):
        fs = score_hierarchy(IP_LEVELS, IP_WEIGHTS, ("1.1.1.1", None, "NO"), snapshot(), 4.0)
        # Without the network level, the ip level's M holds only the country's distinct values.
        p_a = (0.6 * 2 / (100 + 3 + 1) + 0.1 * 50 / 101) / 0.7
        p_u = (0.6 * 2 / 4 + 0.1 * 4 / 4) / 0.7
        self.assertAlmostEqual(fs.p_attack, p_a)
        self.assertAlmostEqual(fs.p_user, p_u)

    def test_no_value_at_all_is_left_out(self):
        self.assertIsNone(score_hierarchy(IP_LEVELS, IP_WEIGHTS, (None, None, None), snapshot(), 4.0))

    @given(
        c_user=st.lists(st.integers(0, 50), min_size=3, max_size=3),
        c_glob=st.lists(st.integers(0, 500), min_size=3, max_size=3),
        n_user=st.integers(1, 50),
    )
    def test_probabilities_stay_in_range(self, c_user, c_glob, n_user):
        keys = [("ip", "a"), ("net", "b"), ("cc", "c")]
        snap = snapshot(
            n_user=n_user,
            user={k: min(c, n_user) for k, c in zip(keys, c_user, strict=True)},
            glob={k: c for k, c in zip(keys, c_glob, strict=True)},
            totals={"ip": 500, "net": 500, "cc": 500},
        )
        fs = score_hierarchy(IP_LEVELS, IP_WEIGHTS, ("a", "b", "c"), snap, 4.0)
        self.assertGreater(fs.p_attack, 0.0)
        self.assertLessEqual(fs.p_attack, 1.0)
        self.assertLessEqual(fs.p_user, 1.0 + 1e-9)
        self.assertTrue(math.isfinite(fs.log_ratio))


class FreemanScoreTests(SimpleTestCase):
    def test_score_is_user_term_plus_features(self):
        store = MemoryCountStore()
        history(store, user_id=1, n=6)
        history(store, user_id=2, n=2, ip="198.51.100.7", asn=64501)
        snap = store.snapshot(1)
        model = freeman_score(ctx(1, minutes=10), snap)
        # p(u|A) = 1/|U| = 1/2, p(u|L) = 6/8.
        self.assertAlmostEqual(model.log_user_ratio, math.log(0.5) - math.log(6 / 8))
        self.assertAlmostEqual(
            model.log_score,
            model.log_user_ratio + sum(f.log_ratio for f in model.features.values()),
        )

    def test_familiar_context_scores_lower_than_a_new_one(self):
        store = MemoryCountStore()
        history(store, user_id=1, n=10)
        history(store, user_id=2, n=10, ip="198.51.100.7", asn=64501)
        snap = store.snapshot(1)
        same = freeman_score(ctx(1), snap).log_score
        new_ip_same_network = freeman_score(ctx(1, ip="192.0.2.99"), snap).log_score
        foreign = freeman_score(ctx(1, ip="203.0.113.5", asn=16509, geo={"country": "AU"}, ua="curl/8.4.0"), snap)
        self.assertLess(same, new_ip_same_network)
        self.assertLess(new_ip_same_network, foreign.log_score)
        self.assertTrue(foreign.features["ip"].unseen and foreign.features["ua"].unseen)

    def test_user_without_history_cannot_be_scored(self):
        with self.assertRaises(ValueError):
            freeman_score(ctx(1), MemoryCountStore().snapshot(1))
