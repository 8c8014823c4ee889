import tempfile
from datetime import timedelta
from pathlib import Path

from django.core.cache import caches
from django.test import override_settings

from risk.context import context_from_parts
from risk.decision import Decision
from risk.policy import assess
from risk.signals.automation import AutomationSignal
from risk.signals.device import KnownDeviceSignal
from risk.signals.network import DEFAULT_HOSTING_ASNS, HostingNetworkSignal
from risk.signals.newcountry import NewCountrySignal
from risk.signals.newnetwork import NewNetworkSignal
from risk.signals.reputation import (
    IPNetworkSet,
    IPReputationSignal,
    parse_network_lines,
)
from risk.signals.travel import ImpossibleTravelSignal, haversine_km
from risk.signals.velocity import FailureVelocitySignal
from risk.store import MemoryCountStore
from risk.velocity import CacheVelocityStore, MemoryVelocityStore, VelocityCounts
from risk.velocity import _digest as velocity_digest
from tests.base import SimpleTestCase

from .factories import IPHONE, SYDNEY, T0, ctx, history


def settled_store(**kwargs):
    store = MemoryCountStore()
    history(store, user_id=1, n=10, **kwargs)
    return store


class ImpossibleTravelTests(SimpleTestCase):
    def setUp(self):
        self.store = settled_store()
        self.signal = ImpossibleTravelSignal()

    def test_haversine_oslo_sydney(self):
        self.assertAlmostEqual(haversine_km(59.91, 10.75, -33.87, 151.21), 15_950, delta=100)

    def test_oslo_to_sydney_in_an_hour_is_impossible(self):
        last = self.store.users[1].profile.last_success_at
        probe = ctx(1, ip="203.0.113.5", asn=64999, geo=SYDNEY, at=last + timedelta(hours=1))
        result = self.signal.evaluate(probe, self.store.snapshot(1), None)
        self.assertEqual(result.code, "impossible_travel")
        self.assertEqual(result.floor, Decision.CHALLENGE)  # a challenge, never a block

    def test_a_day_later_is_possible(self):
        last = self.store.users[1].profile.last_success_at
        probe = ctx(1, ip="203.0.113.5", asn=64999, geo=SYDNEY, at=last + timedelta(hours=24))
        self.assertIsNone(self.signal.evaluate(probe, self.store.snapshot(1), None))

    def test_accuracy_radii_and_floor_absorb_short_hops(self):
        last = self.store.users[1].profile.last_success_at
        # Oslo to Drammen (~35 km) one minute later: below the 50 km floor.
        probe = ctx(1, ip="203.0.113.5", asn=64999, at=last + timedelta(minutes=1), latitude=59.74, longitude=10.20)
        self.assertIsNone(self.signal.evaluate(probe, self.store.snapshot(1), None))
        # Oslo to Gothenburg (~290 km) in 10 minutes, but both fixes are +-200 km.
        store = MemoryCountStore()
        history(store, n=3, accuracy_radius_km=200)
        last = store.users[1].profile.last_success_at
        probe = ctx(
            1,
            ip="203.0.113.5",
            asn=64999,
            at=last + timedelta(minutes=10),
            latitude=57.71,
            longitude=11.97,
            accuracy_radius_km=200,
        )
        self.assertIsNone(self.signal.evaluate(probe, store.snapshot(1), None))

    @override_settings(RISK_IMPOSSIBLE_TRAVEL_KMH=100_000)
    def test_speed_limit_is_a_setting(self):
        last = self.store.users[1].profile.last_success_at
        probe = ctx(1, ip="203.0.113.5", asn=64999, geo=SYDNEY, at=last + timedelta(hours=1))
        self.assertIsNone(self.signal.evaluate(probe, self.store.snapshot(1), None))

    def test_known_network_is_not_checked(self):
        # The user's own network "moving" (VPN exit, mobile gateway) is not travel.
        last = self.store.users[1].profile.last_success_at
        probe = ctx(1, geo=SYDNEY, at=last + timedelta(hours=1))
        self.assertIsNone(self.signal.evaluate(probe, self.store.snapshot(1), None))

    def test_without_location_nothing_is_said(self):
        probe = ctx(1, asn=64999, geo={"country": "AU"}, minutes=60 * 24 * 11)
        self.assertIsNone(self.signal.evaluate(probe, self.store.snapshot(1), None))


class ReputationTests(SimpleTestCase):
    FIREHOL = """# FireHOL level 1
# comment line
0.0.0.0/8
192.0.2.0/24
198.51.100.7
2001:db8:bad::/48
not-an-ip
"""
    TOR = """ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E
Published 2024-01-01 00:00:00
LastStatus 2024-01-01 01:00:00
ExitAddress 203.0.113.77 2024-01-01 01:02:03
"""

    def test_parser_reads_firehol_plain_and_tor_formats(self):
        nets = parse_network_lines(self.FIREHOL.splitlines() + self.TOR.splitlines())
        self.assertEqual(
            [str(n) for n in nets],
            ["0.0.0.0/8", "192.0.2.0/24", "198.51.100.7/32", "2001:db8:bad::/48", "203.0.113.77/32"],
        )

    def test_lookup(self):
        s = IPNetworkSet(parse_network_lines(self.FIREHOL.splitlines() + self.TOR.splitlines()))
        self.assertIn("192.0.2.200", s)
        self.assertIn("::ffff:192.0.2.1", s)  # IPv4-mapped
        self.assertIn("198.51.100.7", s)
        self.assertNotIn("198.51.100.8", s)
        self.assertIn("2001:db8:bad:1::5", s)
        self.assertNotIn("2001:db8:beef::1", s)
        self.assertIn("203.0.113.77", s)
        self.assertNotIn("garbage", s)

    def test_overlapping_networks_merge(self):
        s = IPNetworkSet(["10.0.0.0/8", "10.1.0.0/16", "11.0.0.0/8"])
        self.assertEqual(len(s), 1)
        self.assertIn("11.255.255.255", s)
        self.assertNotIn("12.0.0.0", s)

    def test_signal_uses_files_from_settings(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "firehol_level1.netset"
            path.write_text(self.FIREHOL)
            with override_settings(RISK_IP_REPUTATION_FILES=[str(path)]):
                hit = IPReputationSignal().evaluate(ctx(1, ip="192.0.2.9"), settled_store().snapshot(1), None)
                miss = IPReputationSignal().evaluate(ctx(1, ip="198.51.100.9"), settled_store().snapshot(1), None)
        self.assertEqual(hit.code, "ip_reputation")
        self.assertTrue(hit.network)
        self.assertEqual(hit.floor, Decision.CHALLENGE)
        self.assertIsNone(miss)

    def test_context_flag_counts_as_a_hit(self):
        result = IPReputationSignal(IPNetworkSet()).evaluate(ctx(1, reputation=True), settled_store().snapshot(1), None)
        self.assertEqual(result.code, "ip_reputation")


class HostingTests(SimpleTestCase):
    def test_default_list_has_the_big_clouds(self):
        self.assertTrue(
            {16509, 14618, 396982, 15169, 8075, 14061, 16276, 24940, 63949, 20473, 9009} <= DEFAULT_HOSTING_ASNS
        )

    def test_hosting_network_new_to_the_user(self):
        result = HostingNetworkSignal().evaluate(ctx(1, asn=16509), settled_store().snapshot(1), None)
        self.assertEqual(result.code, "hosting_network")
        self.assertGreater(result.weight, 0)

    def test_users_own_vpn_is_not_flagged(self):
        store = settled_store(asn=9009)
        self.assertIsNone(HostingNetworkSignal().evaluate(ctx(1, asn=9009), store.snapshot(1), None))

    def test_consumer_isp_is_not_flagged(self):
        self.assertIsNone(HostingNetworkSignal().evaluate(ctx(1, asn=64500), settled_store().snapshot(1), None))

    @override_settings(RISK_HOSTING_ASNS=[64500])
    def test_list_is_a_setting(self):
        result = HostingNetworkSignal().evaluate(ctx(1, asn=64500), MemoryCountStore().snapshot(1), None)
        self.assertEqual(result.code, "hosting_network")


class VelocitySignalTests(SimpleTestCase):
    def evaluate(self, **counts):
        return FailureVelocitySignal().evaluate(ctx(1), settled_store().snapshot(1), VelocityCounts(**counts))

    def test_quiet(self):
        self.assertIsNone(self.evaluate())
        self.assertIsNone(self.evaluate(account_failures=1, ip_failures=1, ip_accounts=1))

    def test_account_failures(self):
        self.assertEqual(self.evaluate(account_failures=5, ip_failures=5, ip_accounts=1).code, "account_failures")

    def test_spraying_needs_a_strong_challenge(self):
        result = self.evaluate(ip_failures=12, ip_accounts=12)
        self.assertEqual(result.code, "password_spraying")
        self.assertEqual(result.floor, Decision.CHALLENGE_STRONG)

    def test_many_failures_from_one_ip(self):
        result = self.evaluate(ip_failures=25, ip_accounts=2)
        self.assertEqual(result.code, "ip_failures")
        self.assertEqual(result.floor, Decision.CHALLENGE)

    def test_nist_limit_denies(self):
        result = self.evaluate(account_failures=100, ip_failures=100, ip_accounts=1, account_consecutive=100)
        self.assertEqual(result.floor, Decision.DENY)

    def test_nist_limit_counts_consecutive_failures_in_any_window(self):
        # Guesses spread out: only 3 in the current window, but 100 since the last success.
        result = self.evaluate(account_failures=3, account_consecutive=100)
        self.assertEqual((result.code, result.floor), ("account_failure_limit", Decision.DENY))


class VelocityStoreTests(SimpleTestCase):
    def exercise(self, store):
        for i in range(3):
            store.record_failure("alice", "192.0.2.1", T0 + timedelta(seconds=i))
        for user in ("bob", "carol"):
            store.record_failure(user, "192.0.2.1", T0 + timedelta(seconds=5))
        counts = store.counts("alice", "192.0.2.1", T0 + timedelta(seconds=10))
        self.assertEqual(counts, VelocityCounts(3, 5, 3, 3))
        store.record_success("alice", "192.0.2.1", T0 + timedelta(seconds=11))
        counts = store.counts("alice", "192.0.2.1", T0 + timedelta(seconds=12))
        self.assertEqual((counts.account_failures, counts.account_consecutive), (0, 0))
        self.assertEqual(counts.ip_accounts, 3)
        self.assertEqual(store.counts("dave", "198.51.100.1", T0), VelocityCounts())

    def test_memory_store(self):
        store = MemoryVelocityStore(window_seconds=900)
        self.exercise(store)
        later = store.counts("bob", "192.0.2.1", T0 + timedelta(seconds=2000))
        # The window has passed; bob's failure since his last success still counts toward the limit.
        self.assertEqual(later, VelocityCounts(account_consecutive=1))

    def test_slow_guessing_reaches_the_consecutive_limit(self):
        store = MemoryVelocityStore(window_seconds=900)
        # 150 guesses, one every 10 s: never more than 90 in one 15-minute window.
        for i in range(150):
            store.record_failure("erin", "192.0.2.9", T0 + timedelta(seconds=10 * i))
        counts = store.counts("erin", "192.0.2.9", T0 + timedelta(seconds=1500))
        self.assertLess(counts.account_failures, 100)
        self.assertEqual(counts.account_consecutive, 150)

    def test_cache_store_keeps_consecutive_failures_past_the_window(self):
        caches["default"].clear()
        store = CacheVelocityStore(window_seconds=900)
        for _ in range(3):
            store.record_failure("erin", "192.0.2.9", T0)
        store.cache.delete(f"{store.prefix}:a:{velocity_digest('erin')}")  # as when the window expires
        counts = store.counts("erin", "192.0.2.9", T0)
        self.assertEqual((counts.account_failures, counts.account_consecutive), (0, 3))

    def test_cache_store(self):
        caches["default"].clear()
        self.exercise(CacheVelocityStore(window_seconds=900))
        backend = caches["default"]
        if isinstance(getattr(backend, "_cache", None), dict):  # local memory
            stored = [str(k) for k in backend._cache]
        else:  # Redis
            stored = [k.decode() for k in backend._cache.get_client().keys("*")]
        self.assertTrue(stored, "the store wrote nothing")
        self.assertEqual([k for k in stored if "192.0.2.1" in k or "alice" in k], [])  # digests only


class AutomationSignalTests(SimpleTestCase):
    def test_scripted_client(self):
        result = AutomationSignal().evaluate(ctx(1, ua="python-requests/2.31"), settled_store().snapshot(1), None)
        self.assertEqual(result.code, "automation")
        self.assertEqual(result.floor, Decision.CHALLENGE)

    def test_browser(self):
        self.assertIsNone(AutomationSignal().evaluate(ctx(1), settled_store().snapshot(1), None))


class NewCountryAndNetworkTests(SimpleTestCase):
    def test_new_country_for_settled_user(self):
        probe = ctx(1, asn=64999, geo={"country": "AU"})
        self.assertEqual(
            NewCountrySignal().evaluate(probe, settled_store().snapshot(1), None).text,
            "This sign-in is from a new country",
        )
        self.assertEqual(NewNetworkSignal().evaluate(probe, settled_store().snapshot(1), None).code, "new_network")

    def test_known_country_and_network(self):
        self.assertIsNone(NewCountrySignal().evaluate(ctx(1), settled_store().snapshot(1), None))
        self.assertIsNone(NewNetworkSignal().evaluate(ctx(1), settled_store().snapshot(1), None))

    def test_no_history_no_signal(self):
        probe = ctx(1, asn=64999, geo={"country": "AU"})
        self.assertIsNone(NewCountrySignal().evaluate(probe, MemoryCountStore().snapshot(1), None))


class KnownDeviceTests(SimpleTestCase):
    def test_known_device_lowers_risk(self):
        store = settled_store(device_id="cookie-1")
        result = KnownDeviceSignal().evaluate(ctx(1, device_id="cookie-1"), store.snapshot(1), None)
        self.assertEqual(result.code, "known_device")
        self.assertLess(result.weight, 0)
        self.assertTrue(result.trust)

    def test_trusted_device_lowers_it_more(self):
        store = settled_store(device_id="cookie-1")
        known = KnownDeviceSignal().evaluate(ctx(1, device_id="cookie-1"), store.snapshot(1), None)
        trusted = KnownDeviceSignal().evaluate(ctx(1, device_id="cookie-1", trusted=True), store.snapshot(1), None)
        self.assertLess(trusted.weight, known.weight)

    def test_an_unknown_device_on_a_young_account_is_at_least_a_challenge(self):
        signal = KnownDeviceSignal()
        for n, weight in ((1, 0.0), (2, 0.0), (3, signal.unknown_weight), (9, signal.unknown_weight)):
            store = MemoryCountStore()
            history(store, user_id=1, n=n, device_id="cookie-1")
            for probe in (ctx(1, at=T0 + timedelta(days=n)), ctx(1, at=T0 + timedelta(days=n), device_id="other")):
                result = signal.evaluate(probe, store.snapshot(1), None)
                self.assertEqual(
                    (result.code, result.weight, result.floor), ("unknown_device", weight, Decision.CHALLENGE)
                )
                # The usual network and browser build do not talk the engine out of it.
                decision = assess(probe, store, signals=[signal]).decision
                self.assertEqual(decision, Decision.CHALLENGE, (n, probe.device_id))

    def test_no_cookie_history_no_device_signal(self):
        store = MemoryCountStore()
        history(store, user_id=1, n=2)
        self.assertIsNone(KnownDeviceSignal().evaluate(ctx(1), store.snapshot(1), None))

    def test_a_remembered_device_cookie_from_another_browser_is_a_reason_to_ask(self):
        store = settled_store(device_id="cookie-1")
        probe = context_from_parts(
            user_id=1,
            ip="192.0.2.10",
            user_agent=IPHONE,
            timestamp=T0,
            device_id="cookie-1",
            trusted_device_mismatch=True,
        )
        result = KnownDeviceSignal().evaluate(probe, store.snapshot(1), None)
        self.assertEqual(
            (result.code, result.floor, result.trust), ("trusted_device_mismatch", Decision.CHALLENGE, False)
        )
        self.assertGreater(result.weight, 0)

    def test_unknown_device_for_a_user_who_has_cookies(self):
        store = settled_store(device_id="cookie-1")
        result = KnownDeviceSignal().evaluate(ctx(1, device_id="stranger"), store.snapshot(1), None)
        self.assertEqual(result.code, "unknown_device")
        self.assertEqual(result.text, "We don't recognise this device")
        self.assertGreater(result.weight, 0)

    def test_no_cookies_in_history_says_nothing(self):
        self.assertIsNone(KnownDeviceSignal().evaluate(ctx(1, device_id="x"), settled_store().snapshot(1), None))
