"""Network type: AS organisation names, loaded hosting lists, and the learned per-network statistic."""

from __future__ import annotations

import tempfile
from io import StringIO
from pathlib import Path

from django.core.management import CommandError, call_command

from risk.blocklist import clear_site_reputation_cache, site_hosting_hit, site_reputation_hit
from risk.geo import MaxMindGeoProvider
from risk.models import IPBlocklist
from risk.network_type import (
    NETWORK_RETURNING,
    NETWORK_USERS,
    RETURNING_AFTER,
    classify_org,
    network_history,
    network_stat_levels,
)
from risk.policy import assess, learn
from risk.signals.network import HostingNetworkSignal, RareNetworkSignal
from risk.store import MemoryCountStore
from tests.base import SimpleTestCase, TestCase

from .factories import ctx

# Real AS organisation names as GeoLite2 ASN databases spell them. None of the hosting names below
# is on the classifier's brand list: they must be recognised by what the name says.
HOSTING_NAMES = (
    "Hostwinds LLC.",
    "HostRoyale Technologies Pvt Ltd",
    "GTHost",
    "HostEurope GmbH",
    "Datacenter Luxembourg S.A.",
    "DataCenterLuxembourg",
    "Serverius Holding B.V.",
    "ServerMania Inc.",
    "VPSQUAN L.L.C.",
    "Dedicated.com",
    "Performive Cloud Services LLC",
    "Colocation America Corporation",
    "WorldStream Colocation B.V.",
    "Bare Metal Cloud Ltd",
    "Shenzhen Tencent Computer Systems IDC",
    "Advanced Hosters B.V.",
)
VPN_NAMES = ("Private Internet Access, Inc.", "Anonymizer, Inc.", "Hide My IP VPN Ltd", "Smart Proxy LLC")
ACCESS_NAMES = (
    "Comcast Cable Communications, LLC",
    "Deutsche Telekom AG",
    "T-Mobile USA, Inc.",
    "Vodafone GmbH",
    "Reliance Jio Infocomm Limited",
    "Telstra Corporation Ltd",
    "Orange S.A.",
    "Bharti Airtel Ltd., Telemedia Services",
    "Telenor Norge AS",
    "Charter Communications Inc",
    "China Mobile communications corporation",
    "Rogers Communications Canada Inc.",
    "Sky UK Limited",
    "Virgin Media Limited",
    "Free SAS",
    "Korea Telecom",
    "Google Fiber Inc.",
    "Telia Company AB",
    "Cloud Fibre Broadband Ltd",  # an ISP whose name has "cloud" in it
    "Server Mobile Communications",  # a carrier with "server" in its name
    "SK Broadband Co Ltd",
    "Chunghwa Telecom Co., Ltd.",
    "Massachusetts Institute of Technology",
    "",
)


class ClassifyOrgTests(SimpleTestCase):
    def test_hosting_providers_by_what_their_name_says(self):
        for name in HOSTING_NAMES:
            self.assertEqual(classify_org(name), "hosting", name)

    def test_vpn_and_proxy_services(self):
        for name in VPN_NAMES:
            self.assertEqual(classify_org(name), "vpn", name)

    def test_isps_carriers_and_universities_are_left_alone(self):
        for name in ACCESS_NAMES:
            self.assertIsNone(classify_org(name), name)
        self.assertIsNone(classify_org(None))

    def test_words_inside_other_words_do_not_count(self):
        for name in ("Ghostnet Telecom", "Proxyon Broadband", "Ucloudlink Mobile"):
            self.assertIsNone(classify_org(name), name)


class NetworkStatisticTests(SimpleTestCase):
    def test_a_user_counts_once_as_user_and_once_as_returning(self):
        levels = [network_stat_levels(n) for n in range(1, 8)]
        self.assertEqual(levels[0], (NETWORK_USERS,))
        self.assertEqual(levels[RETURNING_AFTER - 1], (NETWORK_RETURNING,))
        self.assertEqual(sum(len(x) for x in levels), 2)

    def test_memory_store_counts_users_and_returning_users_per_network(self):
        store = MemoryCountStore()
        for uid in range(3):
            for i in range(uid + 1):  # user 0 once, user 1 twice, user 2 three times
                learn(ctx(uid, asn=64999, minutes=i), store)
        self.assertEqual(store.glob[(NETWORK_USERS, "AS64999")], 3)
        self.assertEqual(store.glob[(NETWORK_RETURNING, "AS64999")], 1)
        self.assertEqual(store.totals[NETWORK_USERS], 3)

    def test_history_needs_a_site_and_shrinks_small_networks_to_the_site_share(self):
        store = self.site(home_users=60)
        snap = store.snapshot(0)
        self.assertIsNone(network_history(self.site(home_users=10).snapshot(0), "AS64500"))
        home = network_history(snap, "AS64500")
        self.assertEqual((home.users, home.returning), (60, 60))
        self.assertAlmostEqual(home.log_transience, 0.0, delta=0.1)
        unseen = network_history(snap, "AS1")
        self.assertEqual(unseen.users, 0)
        self.assertAlmostEqual(unseen.share, unseen.site_share)
        for uid in range(100, 130):  # thirty accounts once each: a VPN exit
            learn(ctx(uid, asn=64666), store)
        exit_ = network_history(store.snapshot(0), "AS64666")
        self.assertGreater(exit_.log_transience, 1.0)

    @staticmethod
    def site(home_users: int) -> MemoryCountStore:
        store = MemoryCountStore()
        for uid in range(home_users):
            for i in range(4):
                learn(ctx(uid, ip=f"192.0.2.{uid % 250 + 1}", minutes=uid * 10 + i), store)
        return store


class RareNetworkSignalTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.store = MemoryCountStore()
        for uid in range(RareNetworkSignal.min_site_users + 10):
            for i in range(4):  # everyone signs in from the home ISP, and comes back
                learn(ctx(uid, minutes=uid * 10 + i), cls.store)
        learn(ctx(9001, asn=64777), cls.store)  # one account once on AS64777
        for uid in range(2000, 2040):  # forty accounts once each on AS64888
            learn(ctx(uid, asn=64888), cls.store)
        for uid in range(10):  # ten settled users also use the office network AS64555
            for i in range(5):
                learn(ctx(uid, asn=64555, minutes=5000 + i), cls.store)

    def evaluate(self, asn, user=1):
        probe = ctx(user, asn=asn, minutes=99999)
        return RareNetworkSignal().evaluate(probe, self.store.snapshot(user), None)

    def test_a_network_no_account_used_is_rare(self):
        result = self.evaluate(64123)
        self.assertEqual((result.code, result.weight, result.network), ("rare_network", 2.0, True))

    def test_weight_falls_with_the_accounts_seen_there(self):
        self.assertEqual(self.evaluate(64777).weight, 1.5)

    def test_a_transient_network_adds_a_smaller_term(self):
        result = self.evaluate(64888)
        self.assertEqual((result.code, result.weight), ("transient_network", 1.0))

    def test_shared_residential_networks_and_own_networks_say_nothing(self):
        self.assertIsNone(self.evaluate(64555, user=150))  # new to user 150, but ten users come back to it
        self.assertIsNone(self.evaluate(64500))  # the user's own network

    def test_a_young_site_or_a_first_sign_in_says_nothing(self):
        young = MemoryCountStore()
        for uid in range(20):
            learn(ctx(uid), young)
        self.assertIsNone(RareNetworkSignal().evaluate(ctx(1, asn=64123), young.snapshot(1), None))
        self.assertIsNone(RareNetworkSignal().evaluate(ctx(5555, asn=64123), self.store.snapshot(5555), None))

    def test_it_raises_the_score_through_the_bounded_network_term(self):
        known = assess(ctx(1, asn=64555, minutes=99999), self.store, fail_closed=False)
        rare = assess(ctx(1, asn=64123, minutes=99999), self.store, fail_closed=False)
        self.assertIn("rare_network", rare.reason_codes)
        self.assertGreater(rare.breakdown["network"], known.breakdown["network"])


class HostingSignalTests(SimpleTestCase):
    def test_org_name_list_and_asn_each_make_a_host(self):
        store = MemoryCountStore()
        learn(ctx(1), store)
        snap = store.snapshot(1)
        signal = HostingNetworkSignal()
        by_org = signal.evaluate(ctx(1, asn=54290, asn_org="Hostwinds LLC."), snap, None)
        self.assertEqual((by_org.code, by_org.weight), ("hosting_network", 2.0))
        vpn = signal.evaluate(ctx(1, asn=64321, asn_org="Private Internet Access, Inc."), snap, None)
        self.assertIn("VPN", vpn.text)
        listed = ctx(1, asn=64322)
        object.__setattr__(listed, "hosting_listed", True)
        self.assertIsNotNone(signal.evaluate(listed, snap, None))
        self.assertIsNone(signal.evaluate(ctx(1, asn=64323, asn_org="Telenor Norge AS"), snap, None))
        # A hosting network the user signed in from before (their own VPN) adds nothing.
        learn(ctx(1, asn=54290, asn_org="Hostwinds LLC.", minutes=5), store)
        self.assertIsNone(signal.evaluate(ctx(1, asn=54290, asn_org="Hostwinds LLC."), store.snapshot(1), None))

    def test_org_name_from_a_real_geoip_asn_database(self):
        import mmdb_writer
        import netaddr

        writer = mmdb_writer.MMDBWriter(
            ip_version=6, ipv4_compatible=True, database_type="GeoLite2-ASN", languages=["en"], description={"en": "t"}
        )
        for cidr, number, org in (
            ("198.51.100.0/24", 62904, "Eonix Corporation Dedicated Servers"),
            ("192.0.2.0/24", 2119, "Telenor Norge AS"),
        ):
            writer.insert_network(
                netaddr.IPSet([cidr]),
                {"autonomous_system_number": mmdb_writer.MmdbU32(number), "autonomous_system_organization": org},
            )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "asn.mmdb"
            writer.to_db_file(str(path))
            provider = MaxMindGeoProvider(asn_db=str(path))
            try:
                host, home = provider.lookup("198.51.100.20"), provider.lookup("192.0.2.20")
            finally:
                provider.close()
        store = MemoryCountStore()
        learn(ctx(1, asn=2119), store)
        for geo, expected in ((host, "hosting_network"), (home, None)):
            probe = ctx(1, asn=geo.asn, asn_org=geo.asn_org, minutes=60)
            result = HostingNetworkSignal().evaluate(probe, store.snapshot(1), None)
            self.assertEqual(result.code if result else None, expected, geo.asn_org)


HOSTING_LIST = """# hosting ASNs and ranges, as operators keep them
AS54290,Hostwinds
62904 Eonix
as64501
203.0.113.0/25
2001:db8:c10d::/48
not-a-network
"""


class HostingListTests(TestCase):
    def setUp(self) -> None:
        self.dir = Path(tempfile.mkdtemp())
        clear_site_reputation_cache()
        self.addCleanup(clear_site_reputation_cache)

    def load(self, *args: str) -> str:
        out = StringIO()
        call_command("risk_blocklist_load", *args, stdout=out)
        return out.getvalue()

    def test_asns_and_networks_are_loaded_and_seen_by_the_site(self):
        path = self.dir / "hosting.txt"
        path.write_text(HOSTING_LIST)
        out = self.load(str(path), "--kind", "hosting")
        self.assertIn("Loaded hosting (hosting): 5 ASNs and networks; 1 unreadable line(s) skipped.", out)
        self.assertTrue(site_hosting_hit("192.0.2.1", 54290))
        self.assertTrue(site_hosting_hit("192.0.2.1", 64501))
        self.assertTrue(site_hosting_hit("203.0.113.5", None))
        self.assertTrue(site_hosting_hit("2001:db8:c10d::9", 64999))
        self.assertFalse(site_hosting_hit("203.0.113.200", 64999))
        self.assertFalse(site_reputation_hit("203.0.113.5"))  # a hosting list is not an abuse list
        self.assertIn("hosting (hosting): 5 entries", self.load("--list"))
        self.assertEqual(IPBlocklist.objects.get().kind, IPBlocklist.HOSTING)

    def test_a_file_without_asn_or_network_is_refused_and_nothing_written(self):
        path = self.dir / "junk.txt"
        path.write_text("hello\nworld\n")
        with self.assertRaisesMessage(CommandError, "contains no AS number"):
            self.load(str(path), "--kind", "hosting")
        with self.assertRaises(CommandError):
            self.load(str(path), "--kind", "nonsense")
        self.assertFalse(IPBlocklist.objects.exists())

    def test_the_sign_in_context_carries_the_hit(self):
        from django.test import RequestFactory

        from risk.login import login_context_build
        from tests.helpers import make_user

        path = self.dir / "hosting.txt"
        path.write_text("203.0.113.0/24\n")
        self.load(str(path), "--kind", "hosting")
        request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Mozilla/5.0")
        request.COOKIES = {}
        built = login_context_build(request, user=make_user())
        self.assertTrue(built.hosting_listed)
        request.META["REMOTE_ADDR"] = "192.0.2.9"
        self.assertFalse(login_context_build(request, user=make_user("bob@example.com")).hosting_listed)
