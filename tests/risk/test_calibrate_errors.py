"""Bad input to risk_calibrate: a clear CommandError (non-zero exit), never a traceback or a silent result."""

import io
import tempfile
from pathlib import Path

from django.core.management import CommandError, call_command

from risk.evaluation.calibrate import calibrate
from risk.evaluation.replay import ScoreHistogram
from tests.base import SimpleTestCase

from .test_replay import trace

# Input rows 0-3: 0 failed, 1 a takeover, 2 and 3 legitimate.
INPUT = trace(
    [
        {"Login Successful": "False"},
        {"Is Account Takeover": "True"},
        {},
        {},
    ]
)
SCORES = "index,score,decision,reasons\n1,5.0,deny,x\n2,-2.0,allow,\n3,-1.0,allow,\n"


class CalibrateInputTests(SimpleTestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)

    def files(self, scores=SCORES, inp=INPUT):
        s, i = self.dir / "scores.csv", self.dir / "input.csv"
        for path, content in ((s, scores), (i, inp)):
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return str(s), str(i)

    def calibrate(self, *args, scores=SCORES, inp=INPUT):
        out = io.StringIO()
        call_command("risk_calibrate", *self.files(scores, inp), *args, stdout=out)
        return out.getvalue()

    def assertRefused(self, pattern, *args, **files):
        with self.assertRaisesRegex(CommandError, pattern):
            self.calibrate(*args, **files)

    def test_matching_files_calibrate(self):
        self.assertIn("takeovers: 1, legitimate sign-ins: 2", self.calibrate("--target", "1"))

    def test_score_that_is_not_a_number(self):
        self.assertRefused(r"scores line 3: score 'abc' is not a number", scores=SCORES.replace("-2.0", "abc"))

    def test_short_rows(self):
        self.assertRefused(r"scores line 3: too few fields", scores=SCORES.replace("2,-2.0,allow,", "2"))
        short_input = INPUT.splitlines(keepends=True)
        short_input[3] = "2,2024-01-01 02:00:00.000,1\r\n"
        self.assertRefused(r"input line 4: 3 fields, too few", inp="".join(short_input))

    def test_extra_score_rows(self):
        self.assertRefused(r"scores line 5: row 99 has no successful login", scores=SCORES + "99,7.0,deny,\n")

    def test_missing_score_rows(self):
        self.assertRefused(r"scores end before input row 3", scores=SCORES.rsplit("3,", 1)[0])

    def test_bad_flags_in_the_input(self):
        self.assertRefused(
            r"input line 3: Is Account Takeover must be True or False",
            inp=INPUT.replace(",True,False,True", ",True,False,yes"),
        )

    def test_not_utf8(self):
        lines = INPUT.splitlines(keepends=True)
        lines[3] = lines[3].replace("Oslo", "\xd8slo")
        self.assertRefused(r"input line 4: not UTF-8 text", inp="".join(lines).encode("latin-1"))
        self.assertRefused(
            r"scores line 3: not UTF-8 text", scores=SCORES.replace("allow", "all\xf8w").encode("latin-1")
        )

    def test_rates_out_of_range(self):
        for args in (
            ("--max-deny-rate", "-0.1"),
            ("--max-deny-rate", "1.5"),
            ("--max-deny-rate", "nan"),
            ("--target", "0"),
            ("--target", "-0.5"),
            ("--target", "1.01"),
            ("--target", "nan"),
        ):
            with self.subTest(args=args):
                self.assertRefused(rf"^{args[0]} ", *args)

    def test_calibrate_refuses_a_bad_deny_rate(self):
        with self.assertRaises(ValueError):
            calibrate([1.0], ScoreHistogram(), target=0.9, max_deny_rate=-0.1)
