"""Real-browser tests: Debian's headless Chromium driven by Playwright against a live server.

Every page a test shows is also checked with axe-core (see ``AxeChecker``).
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import sys
import tempfile
import unittest
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.contrib.staticfiles.testing import StaticLiveServerTestCase

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
SCREENSHOT_DIR = Path(settings.BASE_DIR) / "docs" / "screenshots"

# axe-core is pinned in tests/browser/axe/package-lock.json; `make test` (and so CI) runs `npm ci` there.
AXE_DIR = Path(__file__).resolve().parent / "axe"
AXE_INSTALL = "npm ci --prefix tests/browser/axe"


@dataclass(frozen=True)
class AllowedViolation:
    """A violation in markup the project does not write (Django's admin templates), with the reason."""

    rule: str
    target: str  # a regular expression matched against the whole CSS selector axe reports
    reason: str


# Only under /admin/. Each entry is Django's own markup; the project's admin templates are checked in full.
ADMIN_ALLOWED: tuple[AllowedViolation, ...] = (
    AllowedViolation(
        "aria-prohibited-attr",
        r".*\.search-label-icon",
        "Django's SelectFilter2.js (the groups and permissions pickers on the user page) puts an "
        "aria-label on the role-less <span> of its search icon; the input it sits beside has its own label.",
    ),
)


def axe_source() -> str:
    """Return the pinned axe-core script, or fail with how to install it (never skip the check)."""
    pinned = json.loads((AXE_DIR / "package.json").read_text())["dependencies"]["axe-core"]
    installed_meta = AXE_DIR / "node_modules" / "axe-core" / "package.json"
    if not installed_meta.exists():
        raise AssertionError(f"axe-core is not installed: run `{AXE_INSTALL}` (make test does it)")
    installed = json.loads(installed_meta.read_text())["version"]
    if installed != pinned:
        raise AssertionError(f"axe-core {installed} is installed but {pinned} is pinned: run `{AXE_INSTALL}`")
    return (AXE_DIR / "node_modules" / "axe-core" / "axe.min.js").read_text()


# Put into every top-level document, after axe itself. It checks the page once it has loaded (and
# again when asked, if the DOM or the viewport changed since), and reports to the test through a
# DevTools binding.
AXE_RUNNER_JS = """
(() => {
  if (window !== window.top) return;
  const report = window.__AXE_BINDING__;
  const fingerprint = () => {
    const html = document.documentElement ? document.documentElement.outerHTML : "";
    let h = 0x811c9dc5;
    for (let i = 0; i < html.length; i++) { h ^= html.charCodeAt(i); h = Math.imul(h, 0x01000193); }
    return `${html.length}:${h >>> 0}:${innerWidth}x${innerHeight}`;
  };
  const simplify = violations => violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.map(t => [].concat(t).join(" >>> ")).join(" "),
                              html: n.html.slice(0, 200)}))}));
  let last = "";
  let queue = Promise.resolve();
  const check = () => (queue = queue.then(async () => {
    if (!location.protocol.startsWith("http") || document.contentType !== "text/html") {
      return {url: location.href, skipped: "not a web page"};
    }
    const key = fingerprint();
    if (key === last) return {url: location.href, skipped: "unchanged"};
    last = key;
    const result = await axe.run(document, {resultTypes: ["violations"]});
    return {url: location.href, violations: simplify(result.violations)};
  }).catch(error => ({url: location.href, error: String(error)})));
  Object.defineProperty(window, "__axeCheckNow", {value: () => check().then(JSON.stringify)});
  // "start" goes out from the load event itself, before the browser tells the test the page loaded.
  const token = Math.random().toString(36).slice(2);
  addEventListener("load", () => {
    report(JSON.stringify({start: token}));
    setTimeout(() => check().then(r => report(JSON.stringify({...r, token}))), 0);
  });
})();
"""
AXE_BINDING = "__authsiteAxeReport"
AXE_WAIT_SECONDS = 20


@dataclass
class AxeTally:
    """What axe checked in this test run; printed once at exit so the figures can be quoted."""

    pages: int = 0
    violations: int = 0
    allowed: int = 0

    def report(self) -> None:
        if self.pages:
            print(
                f"axe-core: {self.pages} page state(s) checked, {self.violations} problem(s) failed a test, "
                f"{self.allowed} violation(s) allowed in Django's admin markup",
                file=sys.stderr,
                flush=True,
            )


TALLY = AxeTally()
atexit.register(TALLY.report)


class AxeChecker:
    """Run axe-core on every document the page shows, and once more on the state a test ends in.

    axe goes into each new document through the DevTools protocol
    (``Page.addScriptToEvaluateOnNewDocument``), which the site's Content-Security-Policy does not
    apply to, so the policy stays as it is in production. The document checks itself once it has
    loaded and reports through a DevTools binding; a navigation of the main frame is held
    (``page.route``) until the document it leaves has reported, so a test that moves on as soon as
    a page has loaded cannot skip it (a document left before it finished loading is not checked).
    Chromium delivers no DevTools command to a page while such a navigation is pending, which is
    why the page reports by itself instead of being asked.
    """

    def __init__(self, context, page, source: str) -> None:
        self.page = page
        self.running: set[str] = set()  # documents that started a check and have not reported yet
        self.problems: list[str] = []
        self.cdp = context.new_cdp_session(page)
        self.cdp.on("Runtime.bindingCalled", self._on_report)
        self.cdp.send("Runtime.enable")
        self.cdp.send("Runtime.addBinding", {"name": AXE_BINDING})
        self.cdp.send("Page.enable")
        script = source + AXE_RUNNER_JS.replace("__AXE_BINDING__", AXE_BINDING)
        self.cdp.send("Page.addScriptToEvaluateOnNewDocument", {"source": script})
        page.on("framenavigated", self._on_new_document)
        page.route("**/*", self._on_request)

    def _on_new_document(self, frame) -> None:
        # The previous document is gone: a check it had not finished can never report.
        if frame == self.page.main_frame:
            self.running.clear()

    def _on_report(self, event: dict) -> None:
        if event.get("name") != AXE_BINDING:
            return
        report = json.loads(event["payload"])
        if "start" in report:
            self.running.add(report["start"])
            return
        self.running.discard(report["token"])
        self._record(report)

    def _on_request(self, route) -> None:
        try:
            request = route.request
            if request.is_navigation_request() and request.frame == self.page.main_frame:
                self._wait_for_running_checks()
        finally:
            route.fallback()

    def _wait_for_running_checks(self) -> None:
        """Hold until the document being left has reported (called while its navigation is held)."""
        for _ in range(AXE_WAIT_SECONDS * 20):
            if not self.running or self.page.is_closed():
                return
            self.page.wait_for_timeout(50)
        self.problems.append(f"axe did not finish on {self.page.url} within {AXE_WAIT_SECONDS} s")
        self.running.clear()

    def check_now(self) -> None:
        """Check the state the page is in now, unless axe already checked this very DOM and viewport."""
        if self.page.is_closed():
            return
        reply = self.cdp.send(
            "Runtime.evaluate",
            {
                "expression": "window.__axeCheckNow ? window.__axeCheckNow() : null",
                "awaitPromise": True,
                "returnByValue": True,
            },
        )
        value = reply.get("result", {}).get("value")
        if value is not None:
            self._record(json.loads(value))

    def _record(self, result: dict) -> None:
        if "error" in result:
            self.problems.append(f"axe could not check {result['url']}: {result['error']}")
        elif "violations" in result:
            problems, allowed = axe_problems(result)
            self.problems += problems
            TALLY.pages += 1
            TALLY.allowed += allowed


def axe_problems(result: dict) -> tuple[list[str], int]:
    """Return one page's violations as messages (rule, impact, selector, address), and how many
    ``ADMIN_ALLOWED`` excused."""
    url = result["url"]
    admin = urlparse(url).path.startswith("/admin/")
    problems, allowed = [], 0
    for violation in result["violations"]:
        for node in violation["nodes"]:
            if admin and any(
                a.rule == violation["id"] and re.fullmatch(a.target, node["target"]) for a in ADMIN_ALLOWED
            ):
                allowed += 1
                continue
            problems.append(
                f"{violation['id']} ({violation['impact']}): {violation['help']}\n"
                f"    at {node['target']} on {url}\n    {node['html']}"
            )
    return problems, allowed


class BrowserTestCase(StaticLiveServerTestCase):
    """One browser per test class; a fresh context (cookies, storage) per test.

    Without Chromium the tests are skipped locally, but in CI (``CI=true``) they fail: a missing
    browser must never look like a pass.
    """

    browser = None
    axe_source = ""

    @classmethod
    def setUpClass(cls) -> None:
        if not Path(CHROMIUM).exists():
            if os.environ.get("CI", "").lower() == "true":
                raise AssertionError(f"Chromium not found at {CHROMIUM}; .ci/run must install it")
            raise unittest.SkipTest("Chromium is not installed (apt-get install chromium chromium-driver)")
        # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from
        # threads with a running loop unless told otherwise.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        cls.axe_source = axe_source()
        super().setUpClass()
        from playwright.sync_api import sync_playwright

        cls._playwright = sync_playwright().start()
        cls.browser = cls._playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.browser is not None:
            cls.browser.close()
            cls._playwright.stop()
        super().tearDownClass()

    def setUp(self) -> None:
        super().setUp()
        from django.core.cache import cache

        cache.clear()
        # Headless Chromium says "HeadlessChrome" in its user agent, which the risk engine rightly
        # treats as automation; present the desktop browser it stands in for.
        self.context = self.browser.new_context(viewport={"width": 1100, "height": 800}, user_agent=DESKTOP_UA)
        self.page = self.context.new_page()
        self.addCleanup(self.context.close)
        self.axe = AxeChecker(self.context, self.page, self.axe_source)
        self.addCleanup(self.assert_pages_accessible)  # runs before the context closes

    def assert_pages_accessible(self) -> None:
        """Fail with every axe-core violation found on the pages this test showed (rule, impact, where)."""
        self.axe.check_now()
        TALLY.violations += len(self.axe.problems)
        if self.axe.problems:
            self.fail(
                f"axe-core found {len(self.axe.problems)} accessibility problem(s):\n  "
                + "\n  ".join(self.axe.problems)
            )

    def use_demo_site(self) -> None:
        """Run with the demo GeoIP databases, the adaptive stages, and DEBUG for the /demo/ page.

        /demo/ lets this loopback browser pretend to sign in from Oslo, Sao Paulo or Sydney.
        """
        from django.test import override_settings

        from risk.geo import build_demo_databases
        from risk.loading import clear_caches
        from tests.helpers import SHIPPED_STAGES

        geo_dir = tempfile.mkdtemp(prefix="geo-")
        self.addCleanup(shutil.rmtree, geo_dir, ignore_errors=True)
        city, asn = build_demo_databases(geo_dir)
        override = override_settings(
            DEBUG=True,
            RISK_GEOIP_CITY_DB=str(city),
            RISK_GEOIP_ASN_DB=str(asn),
            LOGIN_STAGES=SHIPPED_STAGES,
        )
        override.enable()
        self.addCleanup(override.disable)
        clear_caches()
        self.addCleanup(clear_caches)

    def url(self, path: str) -> str:
        return f"{self.live_server_url}{path}"

    def screenshot(self, name: str) -> None:
        """Save a screenshot to docs/screenshots when UPDATE_SCREENSHOTS=1 (kept out of normal runs)."""
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), full_page=True)

    def assert_every_input_has_a_visible_label(self) -> None:
        unlabelled = self.page.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                .filter(el => { const l = el.labels && el.labels[0];
                                return !l || !l.textContent.trim() || l.offsetParent === null; })
                .map(el => el.name || el.id)"""
        )
        self.assertEqual(unlabelled, [], "inputs without a visible label")

    def sign_in_verified(self, user, *, just_now: bool = False) -> None:
        """Sign ``user`` in with a second factor already passed, through a test client's session cookie.

        ``just_now`` also records a fresh factor check, as sensitive changes ask for.
        """
        from urllib.parse import urlparse

        from authsite.accounts.reauth import SESSION_REAUTH_AT
        from authsite.core import clock
        from factors.registry import Strength
        from factors.stepup import factor_reauth_mark
        from tests.base import BrowserClient as Client
        from tests.helpers import force_login_verified

        client = Client()
        force_login_verified(client, user)
        if just_now:
            session = client.session
            session[SESSION_REAUTH_AT] = clock.timestamp()
            factor_reauth_mark(session, Strength.PHISHING_RESISTANT)
            session.save()
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        host = urlparse(self.live_server_url).hostname
        self.context.add_cookies(
            [{"name": cookie.key, "value": cookie.value, "domain": host, "path": "/", "httpOnly": True}]
        )

    def assert_no_horizontal_scroll(self) -> None:
        widths = self.page.evaluate(
            "() => ({scroll: document.documentElement.scrollWidth, viewport: window.innerWidth})"
        )
        self.assertLessEqual(widths["scroll"], widths["viewport"], f"the page scrolls sideways: {widths}")


# A browser without passkey autofill: PublicKeyCredential.isConditionalMediationAvailable() says no.
NO_CONDITIONAL_MEDIATION = """
if (window.PublicKeyCredential) {
  PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);
}
"""


class PasskeyBrowserMixin:
    """Chromium's virtual WebAuthn authenticator and the password sign-in, for ``self.user``."""

    def use_passkey_site(self, email: str) -> None:
        """Serve WebAuthn for the live server and ask every user with a factor for it; make ``self.user``.

        WebAuthn origins must match the live server exactly (http is allowed for localhost only).
        Plain MFA (every sign-in of a user with a factor is challenged): these tests are about the
        factors themselves; the adaptive decisions have their own tests.
        """
        from tests.helpers import make_user

        override = self.settings(
            FACTORS_WEBAUTHN_ORIGINS=[self.live_server_url],
            FACTORS_WEBAUTHN_RP_ID="localhost",
            LOGIN_STAGES=["factors.stages.ChallengeStage"],
        )
        override.enable()
        self.addCleanup(override.disable)
        self.user = make_user(email)

    def add_authenticator(self, *, passkey: bool) -> str:
        """Attach a virtual authenticator (a platform passkey holder, or a USB security key)."""
        cdp = self.context.new_cdp_session(self.page)
        cdp.send("WebAuthn.enable", {"enableUI": False})
        options = {
            "protocol": "ctap2",
            "ctap2Version": "ctap2_1",
            "transport": "internal" if passkey else "usb",
            "hasResidentKey": passkey,
            "hasUserVerification": True,
            "isUserVerified": True,
            "automaticPresenceSimulation": True,
        }
        reply = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
        self.cdp = cdp
        return reply["authenticatorId"]

    def sign_in_with_password(self) -> None:
        from tests.helpers import PASSWORD

        page = self.page
        page.goto(self.url("/login/"))
        page.get_by_label("Email address").fill(self.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Continue").click()

    def sign_out(self) -> None:
        self.page.locator("header").get_by_role("button", name="Sign out").click()
        self.page.wait_for_url("**/login/")

    def signed_in_as(self) -> str:
        self.page.wait_for_url(self.url("/"))
        return self.page.text_content("[data-testid=signed-in-as]")
