"""risk_blocklist_load: lists in the database, seen by the sign-in context, clear errors."""

from __future__ import annotations

import tempfile
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

from django.core.management import CommandError, call_command

from risk.blocklist import clear_site_reputation_cache, site_reputation_hit
from risk.models import IPBlocklist
from tests.base import TestCase

FIREHOL = """#
# firehol_level1 (excerpt for tests)
#
203.0.113.0/24
198.51.100.7
2001:db8:bad::/48
"""
TOR = """ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E
Published 2024-01-01 00:00:00
LastStatus 2024-01-01 01:00:00
ExitAddress 192.0.2.200 2024-01-01 01:00:00
"""


class BlocklistLoadTests(TestCase):
    def setUp(self) -> None:
        self.dir = Path(tempfile.mkdtemp())
        clear_site_reputation_cache()
        self.addCleanup(clear_site_reputation_cache)

    def write(self, name: str, text: str) -> Path:
        path = self.dir / name
        path.write_text(text)
        return path

    def load(self, *args: str) -> str:
        out = StringIO()
        call_command("risk_blocklist_load", *args, stdout=out)
        return out.getvalue()

    def test_firehol_and_tor_lists_are_loaded_and_used(self):
        self.assertFalse(site_reputation_hit("203.0.113.9"))
        self.assertIn(
            "Loaded firehol_level1: 3 networks.", self.load(str(self.write("firehol_level1.netset", FIREHOL)))
        )
        self.assertIn("Loaded tor: 1 networks.", self.load(str(self.write("exits.txt", TOR)), "--name", "tor"))
        for ip in ("203.0.113.9", "198.51.100.7", "2001:db8:bad::1", "192.0.2.200", "::ffff:203.0.113.1"):
            self.assertTrue(site_reputation_hit(ip), ip)
        for ip in ("198.51.100.8", "192.0.2.1", "2001:db8::1"):
            self.assertFalse(site_reputation_hit(ip), ip)
        self.assertIn("firehol_level1: 3 networks", self.load("--list"))

    def test_reloading_replaces_and_remove_forgets(self):
        path = self.write("list.txt", "203.0.113.0/24\n")
        self.load(str(path))
        path.write_text("198.51.100.0/24\nnot-an-address\n")
        self.assertIn("Replaced list: 1 networks; 1 unreadable line(s) skipped.", self.load(str(path)))
        self.assertFalse(site_reputation_hit("203.0.113.9"))
        self.assertTrue(site_reputation_hit("198.51.100.9"))
        self.assertIn("Removed list.", self.load("--remove", "list"))
        self.assertFalse(IPBlocklist.objects.exists())
        clear_site_reputation_cache()
        self.assertFalse(site_reputation_hit("198.51.100.9"))

    def test_clear_errors_and_nothing_half_written(self):
        with self.assertRaisesMessage(CommandError, "no such file"):
            self.load(str(self.dir / "missing.netset"))
        with self.assertRaisesMessage(CommandError, "contains no IP address or network"):
            self.load(str(self.write("junk.txt", "hello\nworld\n")))
        with self.assertRaisesMessage(CommandError, "Give the file"):
            self.load()
        with self.assertRaisesMessage(CommandError, "No list named"):
            self.load("--remove", "nope")
        self.assertFalse(IPBlocklist.objects.exists())

    def test_help(self):
        out = StringIO()
        with redirect_stdout(out), self.assertRaises(SystemExit):
            call_command("risk_blocklist_load", "--help")
        self.assertIn("FireHOL", out.getvalue())
