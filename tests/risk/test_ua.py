import user_agents
from django.test import SimpleTestCase, override_settings

from risk import ua as ua_module
from risk.ua import parse_ua, user_agents_parse

from .factories import CHROME, IPHONE

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
