from datetime import datetime

from authsite.core.ua import ParsedUA
from risk.context import context_from_parts
from risk.geo import GeoResult
from risk.model import context_keys
from tests.base import SimpleTestCase

from .factories import CHROME, T0


class ContextTests(SimpleTestCase):
    def test_builder_fills_every_part(self):
        c = context_from_parts(
            user_id=7,
            ip="::ffff:192.0.2.5",
            user_agent=CHROME,
            timestamp=T0,
            geo=GeoResult(
                country="NO",
                city="Oslo",
                latitude=59.9,
                longitude=10.7,
                accuracy_radius_km=20,
                asn=64500,
                asn_org="Demo",
            ),
            device_id="cookie",
            trusted_device=True,
            ip_reputation_hit=True,
            round_trip_ms=41.0,
        )
        self.assertEqual(c.ip, "192.0.2.5")
        self.assertEqual(c.network, "AS64500")
        self.assertEqual((c.browser, c.os, c.device_type), ("Chrome 120", "Windows 10", "desktop"))
        self.assertEqual(c.ip_levels, ("192.0.2.5", "AS64500", "NO"))
        self.assertEqual(c.ua_levels, (CHROME, "Chrome 120", "Windows 10", "desktop"))
        self.assertTrue(c.has_location and c.trusted_device and c.ip_reputation_hit)
        self.assertEqual(len(c.device_key), 32)
        self.assertNotIn("cookie", c.device_key)

    def test_no_geo_falls_back_to_prefix_network(self):
        c = context_from_parts(user_id=1, ip="2001:db8:aa:bb::1", user_agent="", timestamp=T0)
        self.assertEqual(c.network, "2001:db8:aa::/48")
        self.assertIsNone(c.geo.country)
        self.assertTrue(c.is_automation)
        # No UA string: its level is left out; the parser's "Other" stands for the rest.
        self.assertEqual(context_keys(c)[2:5], [("bv", "Other"), ("osv", "Other"), ("dev", "bot")])
        # No round-trip time measured: the unknown bucket, and the count of sign-ins with the feature.
        self.assertEqual(context_keys(c)[5:], [("rtt", "?"), ("rttc", "?"), ("rttn", "all")])

    def test_naive_timestamp_is_refused(self):
        with self.assertRaises(ValueError):
            context_from_parts(user_id=1, ip="192.0.2.1", user_agent=CHROME, timestamp=datetime(2024, 1, 1))

    def test_parsed_ua_override(self):
        parsed = ParsedUA("Firefox", "20", "iOS", "13.4", "mobile", False)
        c = context_from_parts(user_id=1, ip="10.0.0.1", user_agent="garbage", timestamp=T0, parsed_ua=parsed)
        self.assertEqual((c.browser, c.os, c.device_type), ("Firefox 20", "iOS 13.4", "mobile"))

    def test_context_is_frozen(self):
        c = context_from_parts(user_id=1, ip="192.0.2.1", user_agent=CHROME, timestamp=T0)
        with self.assertRaises(AttributeError):
            c.ip = "198.51.100.1"
