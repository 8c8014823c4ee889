import csv
import io
from collections import Counter

from risk.evaluation.rba_format import COLUMNS
from risk.evaluation.replay import Replayer
from risk.evaluation.world2 import ATTACKER_TYPES, EXTRA, HOSTING_NETWORKS, World2, World2Config, simulate_world2
from risk.signals.network import DEFAULT_HOSTING_ASNS
from tests.base import SimpleTestCase


def generate(**kw) -> str:
    out = io.StringIO()
    simulate_world2(out, World2Config(**{"users": 40, "days": 50, "attacks_per_day": 4.0, **kw}))
    return out.getvalue()


class World2Tests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.text = generate(seed=3)
        cls.rows = list(csv.DictReader(io.StringIO(cls.text)))

    def test_deterministic_for_a_seed(self):
        self.assertEqual(self.text, generate(seed=3))
        self.assertNotEqual(self.text, generate(seed=4))

    def test_format_order_and_labels(self):
        self.assertEqual(tuple(self.rows[0]), COLUMNS + EXTRA)
        times = [r["Login Timestamp"] for r in self.rows]
        self.assertEqual(times, sorted(times))
        self.assertEqual([int(r["index"]) for r in self.rows], list(range(len(self.rows))))
        takeovers = [r for r in self.rows if r["Is Account Takeover"] == "True"]
        self.assertEqual({r["Attacker Type"] for r in takeovers}, set(ATTACKER_TYPES))
        self.assertTrue(all(r["Login Successful"] == "True" for r in takeovers))
        self.assertTrue(all(r["Is Account Takeover"] == "False" for r in self.rows if not r["Attacker Type"]))
        self.assertLessEqual({r["Attacker Type"] for r in self.rows}, {"", *ATTACKER_TYPES})
        legit = [r for r in self.rows if not r["Attacker Type"]]
        self.assertGreater(sum(r["Device ID"].startswith("w2-") for r in legit), len(legit) // 2)

    def test_hosting_space_is_a_long_list_off_the_default_list(self):
        world = World2(World2Config(users=5, days=1, seed=9))
        asns = {asn for asn, _ in world.hosting}
        self.assertEqual(len(asns), HOSTING_NETWORKS)
        self.assertLessEqual(len(asns & DEFAULT_HOSTING_ASNS), 3)
        vpn_rows = [r for r in self.rows if r["Attacker Type"] == "vpn" and r["Is Account Takeover"] == "True"]
        self.assertGreater(len({r["ASN"] for r in vpn_rows}), len(vpn_rows) // 2)

    def test_carriers_rotate_addresses(self):
        world = World2(World2Config(users=5, days=1, seed=2))
        prefixes = {world.carrier_address(3301, "SE").rsplit(".", 2)[0] for _ in range(200)}
        self.assertGreater(len(prefixes), 4)

    def test_replays_through_the_engine(self):
        stats = Replayer().run(io.StringIO(self.text))
        counts = Counter(r["Login Successful"] for r in self.rows)
        self.assertEqual(stats.rows, len(self.rows))
        self.assertEqual(stats.scored, counts["True"])
        self.assertEqual(stats.ato, sum(r["Is Account Takeover"] == "True" for r in self.rows))


class GeneralisationBenchTests(SimpleTestCase):
    def test_prints_the_table_for_each_trace(self):
        import subprocess
        import sys
        from pathlib import Path

        from django.conf import settings

        script = Path(settings.BASE_DIR) / "bench" / "risk_generalisation.py"
        args = [sys.executable, str(script), "--users", "30", "--days", "45", "--trace", "sim:3", "--trace", "world2:3"]
        out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=300).stdout
        self.assertIn("## sim:3 (held out: not tuned on)", out)
        self.assertIn("## world2:3 (held out: not tuned on)", out)
        self.assertEqual(out.count("legit 10+ earlier sign-ins: challenged"), 2)
        self.assertEqual(out.count("VPN caught (AUC)"), 2)
        header = next(line for line in out.splitlines() if line.strip().startswith("engine"))
        self.assertEqual(header.split(), ["engine", "freeman"])

    def test_refuses_an_unknown_trace(self):
        import subprocess
        import sys
        from pathlib import Path

        from django.conf import settings

        script = Path(settings.BASE_DIR) / "bench" / "risk_generalisation.py"
        done = subprocess.run([sys.executable, str(script), "--trace", "nope:1"], capture_output=True, text=True)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("unknown trace 'nope:1'", done.stderr)
