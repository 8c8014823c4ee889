"""The axe-core check every browser test runs: it reports what it finds, under a strict CSP, and fails
loudly without axe."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from unittest import mock

from tests.base import SimpleTestCase
from tests.browser import base
from tests.browser.base import BrowserTestCase

PROBE = """<!doctype html><html lang="en"><head><title>Probe</title></head><body><main><h1>Probe</h1>
<ul class="messages" role="status"><li>Saved.</li></ul><p><a href="/login/">Sign in</a></p></main></body></html>"""
STRICT_CSP = "default-src 'none'"


class AxeCheckBrowserTests(BrowserTestCase):
    def serve_probe(self) -> str:
        """Serve PROBE (a status role on a list: two violations) with a CSP that allows no script at all."""
        url = self.url("/axe-probe/")
        self.page.route(
            url,
            lambda route: route.fulfill(
                status=200, content_type="text/html", body=PROBE, headers={"Content-Security-Policy": STRICT_CSP}
            ),
        )
        return url

    def take_problems(self) -> list[str]:
        """Return what axe found so far and forget it (these tests make their violations on purpose)."""
        problems, self.axe.problems = self.axe.problems, []
        return problems

    def test_a_page_left_at_once_is_still_checked_and_reported_with_rule_impact_selector_and_url(self):
        probe = self.serve_probe()
        response = self.page.goto(probe)
        self.assertEqual(response.headers["content-security-policy"], STRICT_CSP)
        self.page.get_by_role("link", name="Sign in").click()
        self.page.wait_for_url("**/login/")
        problems = self.take_problems()
        self.assertEqual(len(problems), 2, problems)
        listitem = next(p for p in problems if p.startswith("listitem"))
        self.assertIn("listitem (serious): <li> elements must be contained in a <ul> or <ol>", listitem)
        self.assertIn(f"at li on {probe}", listitem)
        self.assertIn("<li>Saved.</li>", listitem)
        self.assertTrue(any(p.startswith("aria-allowed-role (minor)") for p in problems), problems)

    def test_the_state_a_test_ends_in_is_checked_too(self):
        self.page.goto(self.url("/login/"))
        self.axe.check_now()
        self.assertEqual(self.take_problems(), [])
        empty_link = "Object.assign(document.createElement('a'), {href: '/'})"
        self.page.evaluate(f"document.querySelector('main').append({empty_link})")
        self.axe.check_now()
        problems = self.take_problems()
        self.assertEqual(len(problems), 1, problems)
        self.assertTrue(problems[0].startswith("link-name (serious)"), problems)
        self.assertIn(f"on {self.url('/login/')}", problems[0])
        # The page's own scripts may still change the DOM (the passkey autofill, the round-trip
        # probes), which would make the check at the end of the test run again on this planted link.
        self.page.evaluate("document.querySelector('main > a[href=\"/\"]:empty').remove()")


class AxeSetupTests(SimpleTestCase):
    def test_the_allow_list_applies_to_django_admin_pages_only(self):
        violation = {"id": "aria-prohibited-attr", "impact": "serious", "help": "Permitted ARIA attributes only"}
        node = {"target": "label[for=id_groups_input] > .search-label-icon", "html": "<span>"}
        for path, expected in (("/admin/accounts/user/1/change/", 0), ("/account/security/", 1)):
            with self.subTest(path=path):
                problems, allowed = base.axe_problems(
                    {"url": f"http://localhost{path}", "violations": [{**violation, "nodes": [node]}]}
                )
                self.assertEqual((len(problems), allowed), (expected, 1 - expected))

    def test_a_missing_or_stale_axe_fails_and_says_how_to_install_it(self):
        with tempfile.TemporaryDirectory() as tmp:
            axe_dir = Path(tmp)
            (axe_dir / "package.json").write_text(json.dumps({"dependencies": {"axe-core": "4.14.1"}}))
            with mock.patch.object(base, "AXE_DIR", axe_dir):
                with self.assertRaisesMessage(AssertionError, "axe-core is not installed: run `npm ci --prefix"):
                    base.axe_source()
                installed = axe_dir / "node_modules" / "axe-core"
                installed.mkdir(parents=True)
                (installed / "package.json").write_text(json.dumps({"version": "4.13.0"}))
                with self.assertRaisesMessage(AssertionError, "axe-core 4.13.0 is installed but 4.14.1 is pinned"):
                    base.axe_source()

    def test_the_pinned_axe_is_installed(self):
        pinned = json.loads((base.AXE_DIR / "package.json").read_text())["dependencies"]["axe-core"]
        self.assertTrue(base.axe_source().startswith(f"/*! axe v{pinned}\n"))
