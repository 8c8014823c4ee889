"""Bad input to the replay: clear errors with the right line, and --output replaced only on success."""

import io
import os
import tempfile
from pathlib import Path

from django.core.management import CommandError, call_command
from django.test import override_settings

from risk.evaluation.replay import ReplayEncodingError, Replayer, ReplayFormatError, parse_flag, undecodable_line
from tests.base import SimpleTestCase

from .test_replay import THRESHOLDS, others, trace


def replay_text(text):
    out = io.StringIO()
    Replayer().run(io.StringIO(text), out)
    return out.getvalue()


@override_settings(RISK_THRESHOLDS=THRESHOLDS)
class OutputFileTests(SimpleTestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)
        self.good = self.dir / "in.csv"
        self.good.write_text(trace([*others(), {}, {}]), encoding="utf-8")
        self.out = self.dir / "scores.csv"

    def replay(self, source, *extra):
        call_command("risk_replay", str(source), *extra, stdout=io.StringIO())

    def listing(self):
        return sorted(p.name for p in self.dir.iterdir())

    def test_error_mid_file_leaves_no_output(self):
        bad = self.dir / "bad.csv"
        bad.write_text(trace([{}, {}, {"Login Timestamp": "yesterday"}, {}]), encoding="utf-8")
        with self.assertRaisesRegex(CommandError, "line 4"):
            self.replay(bad, "--output", str(self.out))
        self.assertEqual(self.listing(), ["bad.csv", "in.csv"])

    def test_errors_leave_an_existing_output_untouched(self):
        self.out.write_text("earlier scores\n", encoding="utf-8")
        bad_header = self.dir / "header.csv"
        bad_header.write_text("index,User ID\n1,2\n", encoding="utf-8")
        bad_row = self.dir / "row.csv"
        bad_row.write_text(trace([{}, {}, {"Is Account Takeover": "maybe"}]), encoding="utf-8")
        for source in (bad_header, bad_row):
            with self.subTest(source=source.name), self.assertRaises(CommandError):
                self.replay(source, "--output", str(self.out))
            self.assertEqual(self.out.read_text(encoding="utf-8"), "earlier scores\n")
        self.assertEqual(self.listing(), ["header.csv", "in.csv", "row.csv", "scores.csv"])

    def test_success_replaces_the_output_and_keeps_its_mode(self):
        self.out.write_text("earlier scores\n", encoding="utf-8")
        self.out.chmod(0o640)
        self.replay(self.good, "--output", str(self.out))
        self.assertEqual(self.out.read_text(encoding="utf-8"), replay_text(self.good.read_text(encoding="utf-8")))
        self.assertEqual(self.out.stat().st_mode & 0o777, 0o640)
        self.assertEqual(self.listing(), ["in.csv", "scores.csv"])

    def test_output_equal_to_the_input_is_refused(self):
        before = self.good.read_bytes()
        link = self.dir / "link.csv"
        link.symlink_to(self.good)
        os.link(self.good, self.dir / "hard.csv")
        for output in (self.good, self.dir / "sub" / ".." / "in.csv", link, self.dir / "hard.csv"):
            with self.subTest(output=str(output)), self.assertRaisesRegex(CommandError, "is the input file"):
                self.replay(self.good, "--output", str(output))
        self.assertEqual(self.good.read_bytes(), before)

    def test_unwritable_output_directory(self):
        with self.assertRaisesRegex(CommandError, "missing"):
            self.replay(self.good, "--output", str(self.dir / "missing" / "scores.csv"))


class EncodingTests(SimpleTestCase):
    @staticmethod
    def latin1_trace(rows, bad_at):
        """Return bytes of a trace whose data row ``bad_at`` (0-based) has a Latin-1 city."""
        text = trace([{"City": "Troms\xf8"} if i == bad_at else {} for i in range(rows)])
        return text.encode("latin-1")

    def test_bad_byte_in_the_first_buffer(self):
        data = self.latin1_trace(3, bad_at=1)  # physical line 3
        with self.assertRaises(ReplayEncodingError) as caught:
            Replayer().run(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline=""), None)
        self.assertIn("not UTF-8 text", str(caught.exception))
        self.assertNotIn("line", str(caught.exception))  # not known here: better none than a wrong one
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "latin1.csv"
            path.write_bytes(data)
            with self.assertRaisesRegex(CommandError, r"latin1\.csv: line 3: not UTF-8 text"):
                call_command("risk_replay", str(path), stdout=io.StringIO())

    def test_bad_byte_after_the_first_buffer_is_not_given_a_wrong_line(self):
        data = self.latin1_trace(300, bad_at=250)  # physical line 252, well past the first 8 KB
        with self.assertRaises(ReplayEncodingError) as caught:
            Replayer().run(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline=""), None)
        message = str(caught.exception)
        self.assertIn("not UTF-8 text somewhere after line", message)
        self.assertLess(caught.exception.after_line, 252)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "late.csv"
            path.write_bytes(data)
            with self.assertRaisesRegex(CommandError, r"late\.csv: line 252: not UTF-8 text"):
                call_command("risk_replay", str(path), stdout=io.StringIO())

    def test_undecodable_line_counts_lines_like_the_csv_reader(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "x.csv"
            path.write_bytes(b"a\r\nb\rc\nd\re\xffx\n")
            self.assertEqual(undecodable_line(path), 5)
            path.write_bytes("a\nb\xf8\n".encode())
            self.assertIsNone(undecodable_line(path))


class CsvErrorTests(SimpleTestCase):
    def test_unclosed_quote_that_swallows_the_file(self):
        plain = {"User Agent String": "agent"}  # unquoted, so no later quote closes the open one
        text = trace([plain, {"User Agent String": "x"}] + [plain] * 1500)
        text = text.replace(",x,", ',"x,', 1)
        self.assertGreater(len(text), 131072)
        with self.assertRaisesRegex(ReplayFormatError, r"^line \d+: not valid CSV \(field larger than field limit"):
            replay_text(text)

    def test_field_over_the_limit(self):
        text = trace([{}, {"User Agent String": "x" * 140000}])
        with self.assertRaisesRegex(ReplayFormatError, r"^line 3: not valid CSV"):
            replay_text(text)

    def test_header_over_the_limit(self):
        with self.assertRaisesRegex(ReplayFormatError, r"^line 1: not valid CSV"):
            replay_text('"' + "x" * 140000)

    def test_command_reports_it(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "big.csv"
            path.write_text(trace([{}, {"User Agent String": "x" * 140000}]), encoding="utf-8")
            with self.assertRaisesRegex(CommandError, "line 3: not valid CSV"):
                call_command("risk_replay", str(path), stdout=io.StringIO())


@override_settings(RISK_THRESHOLDS=THRESHOLDS)
class FlagTests(SimpleTestCase):
    COLUMNS = ("Login Successful", "Is Attack IP", "Is Account Takeover")

    def test_true_and_false_in_any_case_with_spaces(self):
        rows = [*others(), {}, {}, {"Is Attack IP": "True"}, {"Login Successful": "False"}]
        expected = replay_text(trace(rows))
        spelled = {"True": " TRUE ", "False": "false\t"}
        respelled = []
        for r in rows:
            new = dict(r)
            for c in self.COLUMNS:
                value = r.get(c, "True" if c == "Login Successful" else "False")
                new[c] = spelled[value]
            respelled.append(new)
        self.assertEqual(replay_text(trace(respelled)), expected)
        for value, flag in (("True", True), ("false", False), (" fALSE ", False), ("tRuE", True)):
            self.assertIs(parse_flag(value, "x"), flag)

    def test_anything_else_is_refused_naming_column_and_line(self):
        for column in self.COLUMNS:
            for value in ("yes", "1", "0", "maybe", "", "no"):
                for failed in (False, True):
                    if failed and column == "Login Successful":
                        continue
                    row = {column: value}
                    if failed:
                        row["Login Successful"] = "False"
                    with (
                        self.subTest(column=column, value=value, failed_row=failed),
                        self.assertRaisesRegex(
                            ReplayFormatError, f"^line 4: {column} must be True or False, not {value!r}"
                        ),
                    ):
                        replay_text(trace([{}, {}, row, {}]))


@override_settings(RISK_THRESHOLDS=THRESHOLDS)
class SpreadsheetInputTests(SimpleTestCase):
    def test_a_byte_order_mark_before_the_header_is_ignored(self):
        text = trace([*others(), {}, {}])
        self.assertEqual(replay_text("\ufeff" + text), replay_text(text))

    def test_a_short_row_says_so_with_its_line(self):
        text = trace([*others(), {}, {}])
        lines = text.splitlines()
        lines[3] = ",".join(lines[3].split(",")[:5])
        with self.assertRaisesRegex(ReplayFormatError, "^line 4: fewer fields than the header's 16$"):
            replay_text("\n".join(lines) + "\n")
