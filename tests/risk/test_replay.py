import csv
import io
from pathlib import Path

from django.core.management import CommandError, call_command
from django.test import override_settings

from risk.evaluation.replay import (
    COLUMNS,
    Replayer,
    ReplayFormatError,
    ScoreHistogram,
    _row_ua,
    roc_auc,
)
from risk.evaluation.simulate import SimConfig, simulate
from tests.base import SimpleTestCase

from .factories import CHROME

DATA = Path(__file__).parent / "data" / "rba-dataset-head.csv"
THRESHOLDS = {"CHALLENGE": -1.3, "CHALLENGE_STRONG": 3.0, "DENY": 9.0}


def trace(rows, extra=()):
    """Return a CSV text in the RBA format; rows are dicts overriding a legit default row."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(COLUMNS + tuple(extra))
    for i, row in enumerate(rows):
        base = {
            "index": i,
            "Login Timestamp": f"2024-01-{1 + i // 24:02d} {i % 24:02d}:00:00.000",
            "User ID": "1",
            "Round-Trip Time [ms]": "",
            "IP Address": "192.0.2.10",
            "Country": "NO",
            "Region": "Oslo",
            "City": "Oslo",
            "ASN": "64500",
            "User Agent String": CHROME,
            "Browser Name and Version": "Chrome 120.0.0",
            "OS Name and Version": "Windows 10",
            "Device Type": "desktop",
            "Login Successful": "True",
            "Is Attack IP": "False",
            "Is Account Takeover": "False",
        }
        base.update(row)
        w.writerow([base.get(c, "") for c in COLUMNS + tuple(extra)])
    return out.getvalue()


def run(text, **kwargs):
    out = io.StringIO()
    replayer = Replayer(**kwargs)
    stats = replayer.run(io.StringIO(text), out)
    return stats, list(csv.reader(io.StringIO(out.getvalue()))), replayer


def others():
    """Background users, so that global frequencies are not all one user's."""
    return [
        {"User ID": str(100 + u), "IP Address": f"198.51.100.{u}", "ASN": "64501"} for u in range(5) for _ in range(4)
    ]


ATTACK = {
    "IP Address": "203.0.113.5",
    "ASN": "16509",
    "Country": "AU",
    "Region": "-",
    "City": "-",
    "User Agent String": "python-requests/2.31.0",
    "Browser Name and Version": "",
    "OS Name and Version": "",
    "Device Type": "",
    "Is Account Takeover": "True",
}


@override_settings(RISK_THRESHOLDS=THRESHOLDS)
class ReplayContractTests(SimpleTestCase):
    def test_real_data_sample(self):
        with open(DATA, newline="", encoding="utf-8") as fh:
            expected_success = [r["index"] for r in csv.DictReader(fh) if r["Login Successful"] == "True"]
        out = io.StringIO()
        with open(DATA, newline="", encoding="utf-8") as fh:
            stats = Replayer().run(fh, out)
        rows = list(csv.reader(io.StringIO(out.getvalue())))
        self.assertEqual(rows[0], ["index", "score", "decision", "reasons"])
        self.assertEqual([r[0] for r in rows[1:]], expected_success)
        self.assertEqual((stats.rows, stats.failed_rows, stats.scored), (19, 12, 7))
        for _, score, decision, reasons in rows[1:]:
            float(score)
            self.assertIn(decision, {"allow", "challenge", "challenge_strong", "deny"})
            self.assertIn("first_login", reasons.split(";"))

    def test_failed_rows_feed_velocity_only(self):
        rows = [*others(), *([{}] * 10)]
        rows += [
            {
                "User ID": str(200 + k),
                "IP Address": "203.0.113.66",
                "Login Timestamp": f"2024-01-05 10:0{k}:00.000",
                "Login Successful": "False",
            }
            for k in range(6)
        ]
        rows += [{"IP Address": "203.0.113.66", "ASN": "64999", "Login Timestamp": "2024-01-05 10:07:00.000"}]
        stats, out, replayer = run(trace(rows))
        self.assertEqual(stats.failed_rows, 6)
        self.assertEqual(stats.scored, len(rows) - 6)
        self.assertNotIn("200", replayer.store.users)  # failures are never learned
        self.assertIn("password_spraying", out[-1][3].split(";"))

    def test_outcome_simulation_and_learning(self):
        rows = [*others(), *([{}] * 10), ATTACK, {"Is Account Takeover": "False"}]
        stats, out, replayer = run(trace(rows))
        attack = out[-2]
        self.assertNotEqual(attack[2], "allow")
        # The attacker failed the challenge (or was denied): not learned.
        self.assertEqual(replayer.store.users["1"].profile.n_success, 11)
        self.assertEqual(stats.ato, 1)
        self.assertEqual(stats.ato_caught, 1)
        self.assertNotIn(("cc", "AU"), replayer.store.users["1"].counts)

    def test_challenged_owner_is_learned(self):
        rows = [
            *others(),
            *([{}] * 10),
            {"Country": "SE", "ASN": "64999", "IP Address": "198.18.0.1", "City": "Stockholm"},
        ]
        _, out, replayer = run(trace(rows))
        self.assertNotEqual(out[-1][2], "allow")
        self.assertEqual(replayer.store.users["1"].counts[("cc", "SE")], 1)

    def test_label_is_not_read_before_the_decision(self):
        rows = [*others(), *([{}] * 10), ATTACK]
        flipped = [*rows[:-1], {**ATTACK, "Is Account Takeover": "False"}]
        self.assertEqual(run(trace(rows))[1][-1], run(trace(flipped))[1][-1])

    def test_attack_ip_flag_is_a_reputation_hit(self):
        rows = [*others(), *([{}] * 10), {"Is Attack IP": "True"}]
        _, out, _ = run(trace(rows))
        self.assertIn("ip_reputation", out[-1][3].split(";"))
        self.assertNotEqual(out[-1][2], "allow")

    def test_coordinates_are_used_when_present(self):
        rows = [
            *others(),
            *([{"Latitude": "59.91", "Longitude": "10.75"}] * 5),
            {"Latitude": "-33.87", "Longitude": "151.21", "ASN": "64999", "Login Timestamp": "2024-01-01 05:30:00.000"},
        ]
        _, out, _ = run(trace(rows, extra=("Latitude", "Longitude")))
        self.assertIn("impossible_travel", out[-1][3].split(";"))

    def test_device_column_can_be_ignored(self):
        rows = [*others(), *([{"Device ID": "cookie"}] * 10), {"Device ID": "other"}]
        text = trace(rows, extra=("Device ID",))
        self.assertIn("unknown_device", run(text)[1][-1][3].split(";"))
        self.assertNotIn("unknown_device", run(text, use_device_ids=False)[1][-1][3])

    def test_unparsable_ua_falls_back_to_row_columns(self):
        parsed = _row_ua("garbled agent", "Firefox 20.0.0.1618", "iOS 13.4", "mobile")
        self.assertEqual((parsed.browser, parsed.os, parsed.device_type), ("Firefox 20", "iOS 13.4", "mobile"))
        self.assertEqual(_row_ua(CHROME, "X 1", "Y 2", "tablet").browser, "Chrome 120")

    def test_missing_columns(self):
        with self.assertRaises(ReplayFormatError):
            Replayer().run(io.StringIO("index,User ID\n1,2\n"), None)
        with self.assertRaises(ReplayFormatError):
            Replayer().run(io.StringIO(""), None)

    def test_malformed_row_names_its_line(self):
        text = trace([{}, {"Login Timestamp": "yesterday"}])
        with self.assertRaisesRegex(ReplayFormatError, "line 3"):
            Replayer().run(io.StringIO(text), None)

    def test_simulated_trace(self):
        text = io.StringIO()
        n = simulate(text, SimConfig(users=40, days=45, seed=3, attacks_per_day=2.0))
        stats, out, _ = run(text.getvalue())
        self.assertEqual(stats.rows, n)
        self.assertEqual(stats.scored, len(out) - 1)
        self.assertGreater(stats.ato, 0)
        self.assertGreater(stats.auc, 0.5)
        self.assertIn("ROC AUC", stats.summary())

    def test_baseline_runs_without_signals(self):
        rows = [*others(), *([{}] * 10), {"Is Attack IP": "True"}]
        _, out, _ = run(trace(rows), baseline=True)
        self.assertNotIn("ip_reputation", out[-1][3])


class AucTests(SimpleTestCase):
    def test_perfect_random_and_tied(self):
        pos, neg = ScoreHistogram(), ScoreHistogram()
        for s in (5, 6, 7):
            pos.add(s)
        for s in (-1, 0, 1):
            neg.add(s)
        self.assertEqual(roc_auc(pos, neg), 1.0)
        self.assertEqual(roc_auc(neg, pos), 0.0)
        tied_p, tied_n = ScoreHistogram(), ScoreHistogram()
        tied_p.add(1.0)
        tied_n.add(1.0)
        self.assertEqual(roc_auc(tied_p, tied_n), 0.5)
        self.assertIsNone(roc_auc(ScoreHistogram(), neg))

    def test_extremes_are_clamped(self):
        h = ScoreHistogram()
        h.add(float("inf"))
        h.add(float("-inf"))
        h.add(float("nan"))
        self.assertEqual(h.n, 3)


class CommandTests(SimpleTestCase):
    def test_command_writes_scores_and_summary(self):
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "scores.csv"
            out = io.StringIO()
            call_command("risk_replay", str(DATA), "--output", str(target), stdout=out)
            self.assertEqual(len(target.read_text().splitlines()), 8)
        text = out.getvalue()
        for needle in ("rows: 19", "legitimate logins: 7", "challenged:", "denied:", "account takeovers: 0", "ROC AUC"):
            self.assertIn(needle, text)

    def test_baseline_flag(self):
        out = io.StringIO()
        call_command("risk_replay", str(DATA), "--baseline", stdout=out)
        self.assertIn("plain Freeman", out.getvalue())

    def test_bad_input(self):
        with self.assertRaises(CommandError):
            call_command("risk_replay", "/nonexistent.csv", stdout=io.StringIO())
