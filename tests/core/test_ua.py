import importlib.util
import re
from pathlib import Path

import ua_parser
import user_agents
from django.test import override_settings

from authsite.core import ua as ua_module
from authsite.core.ua import parse_ua, user_agents_parse
from tests.base import SimpleTestCase
from tests.risk.factories import CHROME, IPHONE

IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Mobile/15E148 Safari/604.1"
)
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"
)


class ParseTests(SimpleTestCase):
    def test_desktop_browser(self):
        p = parse_ua(CHROME)
        self.assertEqual((p.browser, p.os, p.device_type), ("Chrome 120", "Windows 10", "desktop"))
        self.assertFalse(p.is_automation)
        self.assertTrue(p.parsed)

    def test_phone_and_tablet(self):
        self.assertEqual(parse_ua(IPHONE).device_type, "mobile")
        self.assertEqual(parse_ua(IPHONE).os, "iOS 17.2")
        self.assertEqual(parse_ua(IPAD).device_type, "tablet")

    def test_automation(self):
        for agent in (
            "curl/8.4.0",
            "python-requests/2.31.0",
            "Go-http-client/1.1",
            HEADLESS,
            ("Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1"),
            "Mozilla/5.0 selenium",
            "Java-http-client/17.0.2",
            "undici",
            "HTTPie/3.2.2",
            "Deno/1.40.0",
            "Dart/3.2 (dart:io)",
            "Ruby",
            "masscan/1.3",
            "",
            None,
            "   ",
        ):
            with self.subTest(agent=agent):
                self.assertTrue(parse_ua(agent).is_automation)
                self.assertEqual(parse_ua(agent).device_type, "bot")

    def test_crawler_is_a_bot(self):
        p = parse_ua("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
        self.assertEqual(p.device_type, "bot")
        self.assertTrue(p.is_automation, "a crawler signing in is automation too")

    def test_results_are_cached(self):
        ua_module.clear_cache()
        parse_ua(CHROME)
        parse_ua(CHROME)
        self.assertEqual(ua_module._cached.cache_info().hits, 1)

    @override_settings(RISK_UA_CACHE_SIZE=7)
    def test_cache_size_is_a_setting(self):
        parse_ua(CHROME)
        self.assertEqual(ua_module._cached.cache_info().maxsize, 7)


class UserAgentsCompatibilityTests(SimpleTestCase):
    def test_same_answers_as_user_agents(self):
        for agent in (
            CHROME,
            IPHONE,
            IPAD,
            HEADLESS,
            "curl/8.4.0",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        ):
            with self.subTest(agent=agent):
                fast, slow = user_agents_parse(agent), user_agents.parse(agent)
                self.assertEqual(str(fast), str(slow))
                for attr in ("is_mobile", "is_tablet", "is_pc", "is_bot", "is_touch_capable"):
                    self.assertEqual(getattr(fast, attr), getattr(slow, attr), attr)


# The regexes authsite.core.ua used before its substring fast path, kept here as the reference.
_REF_AUTOMATION = re.compile(
    r"curl|wget|python-requests|python-urllib|aiohttp|httpx|go-http-client|java/|okhttp|"
    r"libwww-perl|headlesschrome|phantomjs|selenium|webdriver|puppeteer|playwright|"
    r"scrapy|httpclient|axios|node-fetch|postmanruntime|insomnia|powershell",
    re.IGNORECASE,
)
_REF_TABLET = re.compile(r"ipad|tablet|kindle|silk|playbook|(android(?!.*mobile))", re.IGNORECASE)
_REF_MOBILE = re.compile(r"mobi|iphone|ipod|android|windows phone|blackberry|opera mini", re.IGNORECASE)


def _reference_parse(agent: str) -> ua_module.ParsedUA:
    result = ua_parser.parse(agent)
    ua_part, os_ = result.user_agent, result.os
    family = ua_part.family if ua_part else "Other"
    automation = not agent.strip() or family in ua_module._AUTOMATION_FAMILIES or bool(_REF_AUTOMATION.search(agent))
    if automation or (result.device is not None and result.device.family == "Spider"):
        device_type = "bot"
    elif _REF_TABLET.search(agent):
        device_type = "tablet"
    elif _REF_MOBILE.search(agent):
        device_type = "mobile"
    elif (os_.family if os_ else None) in ua_module._DESKTOP_OS:
        device_type = "desktop"
    else:
        device_type = "unknown"
    os_version = ""
    if os_ is not None and os_.major:
        os_version = os_.major + (f".{os_.minor}" if os_.minor else "")
    return ua_module.ParsedUA(
        browser_family=family,
        browser_major=(ua_part.major or "") if ua_part else "",
        os_family=os_.family if os_ else "Other",
        os_version=os_version,
        device_type=device_type,
        is_automation=automation or device_type == "bot",
    )


def _bench_user_agents(n: int) -> list[str]:
    path = Path(__file__).resolve().parents[2] / "bench" / "ua_strings.py"
    spec = importlib.util.spec_from_file_location("bench_ua_strings", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_user_agents(n, 1)


class FastPathTests(SimpleTestCase):
    """The substring fast path answers exactly as the case-insensitive regexes did."""

    EDGE_CASES = (
        "",
        " ",
        "CURL/8.4.0",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/120.0 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/120.0 Mobile Safari/537.36",
        "Android mobile then Android again",
        "Android\nmobile on the next line",
        "Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; KFTT Build/IML74K) AppleWebKit/535.19 Silk/3.4",
        "Mozilla/5.0 (PlayBook; U; RIM Tablet OS 2.1.0; en-US)",
        "Opera/9.80 (J2ME/MIDP; Opera Mini/9.80; U; en) Presto/2.5.25",
        "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) Edge/15.14977",
        "Mozilla/5.0 (BlackBerry; U; BlackBerry 9900; en) AppleWebKit/534.11+",
        "Java/17.0.2",
        "Apache-HttpClient/4.5.13 (Java/11.0.20)",
        "PostmanRuntime/7.36.0",
        "Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.19045; en-US) PowerShell/7.4.0",
        "axios/1.6.2",
        "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "Python/3.11 aiohttp/3.9.1",
        "python-httpx/0.25.2",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Puppeteer",
        "Mozilla/5.0 (X11; Linux x86_64) Playwright/1.40 WebDriver",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (Linux; Andro\u0131d 14) Mobi\u017fle",  # dotless i, long s: non-ASCII, regex path
        "\u212aindle on a Kelvin sign",  # folds onto "k" under IGNORECASE
        "cu\u0280l/8 \u017felenium",
        "Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) Mobile/15E148",
    )

    def test_same_results_on_edge_cases(self):
        for agent in self.EDGE_CASES:
            with self.subTest(agent=agent):
                self.assertEqual(ua_module._parse(agent), _reference_parse(agent))

    def test_same_results_on_bench_strings(self):
        agents = _bench_user_agents(2000)
        mismatches = [a for a in agents if ua_module._parse(a) != _reference_parse(a)]
        self.assertEqual(mismatches, [])
