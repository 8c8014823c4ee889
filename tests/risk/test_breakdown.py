import io

from risk.evaluation.breakdown import SETTLED, Breakdown
from risk.evaluation.replay import Replayer
from risk.evaluation.simulate import SimConfig, simulate
from tests.base import SimpleTestCase


class BreakdownTests(SimpleTestCase):
    def test_counts_match_the_replay_totals(self):
        out = io.StringIO()
        simulate(out, SimConfig(users=40, days=60, attacks_per_day=4.0, seed=5))
        breakdown = Breakdown()
        stats = Replayer(on_scored=breakdown).run(io.StringIO(out.getvalue()))
        kinds = breakdown.kinds
        self.assertEqual(sum(k.n for k in kinds.values()), stats.ato)
        self.assertEqual(sum(k.caught for k in kinds.values()), stats.ato_caught)
        self.assertEqual(breakdown.legit.n, stats.legit)
        self.assertLess(breakdown.settled, stats.legit)
        self.assertGreater(breakdown.settled, 0)
        rates = breakdown.rates()
        for name, kind in kinds.items():
            if kind.n:
                self.assertAlmostEqual(rates[name]["caught"], kind.caught / kind.n)
                self.assertTrue(0.0 <= rates[name]["auc"] <= 1.0)

    def test_only_settled_users_count_and_reasons_are_tallied(self):
        from risk.decision import Decision
        from risk.policy import Assessment, Reason

        b = Breakdown()
        challenged = Assessment(1.0, Decision.CHALLENGE, (Reason("new_network", "x", 1.5),))
        b(["", ""], {}, challenged, SETTLED - 1, False)
        b(["", ""], {}, challenged, SETTLED, False)
        b(["", ""], {}, Assessment(9.5, Decision.DENY, ()), SETTLED + 5, False)
        b(["vpn"], {"Attacker Type": 0}, Assessment(-3.0, Decision.ALLOW, ()), SETTLED, True)
        self.assertEqual((b.settled, b.settled_challenged, b.settled_denied), (2, 1, 1))
        self.assertEqual(b.reasons, {"new_network": 1})
        self.assertEqual(b.rates()["vpn"], {"n": 1, "caught": 0.0, "auc": 0.0})
        self.assertIsNone(b.rates()["naive"]["caught"])
