"""Real-browser tests: Debian's headless Chromium driven by Playwright against a live server."""

from __future__ import annotations

import os
import shutil
import tempfile
import unittest
from pathlib import Path

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


class BrowserTestCase(StaticLiveServerTestCase):
    """One browser per test class; a fresh context (cookies, storage) per test.

    Without Chromium the tests are skipped locally, but in CI (``CI=true``) they fail: a missing
    browser must never look like a pass.
    """

    browser = None

    @classmethod
    def setUpClass(cls) -> None:
        if not Path(CHROMIUM).exists():
            if os.environ.get("CI", "").lower() == "true":
                raise AssertionError(f"Chromium not found at {CHROMIUM}; .ci/run must install it")
            raise unittest.SkipTest("Chromium is not installed (apt-get install chromium chromium-driver)")
        # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from
        # threads with a running loop unless told otherwise.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
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
