"""docs/SECURITY.md names real tests: every ``tests/<path>.py::<Class>::<test>`` it cites exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from tests.base import SimpleTestCase

DOC = Path(__file__).resolve().parents[2] / "docs" / "SECURITY.md"
CITATION = re.compile(r"`(tests/[\w/]+)\.py::(\w+)::(\w+)`")


class SecurityMapCitationTests(SimpleTestCase):
    def test_every_cited_test_exists(self):
        citations = sorted(set(CITATION.findall(DOC.read_text(encoding="utf-8"))))
        self.assertGreater(len(citations), 100, "the map cites tests in the documented form")
        missing = []
        for path, cls, name in citations:
            module = importlib.import_module(path.replace("/", "."))
            case = getattr(module, cls, None)
            if case is None or not callable(getattr(case, name, None)):
                missing.append(f"{path}.py::{cls}::{name}")
        self.assertEqual(missing, [], "docs/SECURITY.md cites tests that do not exist")
