import ipaddress
import random
import tempfile
from io import StringIO
from pathlib import Path

from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.test import override_settings

from authsite.core.clientip import canonical_ip_or_none
from risk.geo import (
    GeoIPDatabaseError,
    GeoResult,
    MaxMindGeoProvider,
    build_demo_databases,
    lookup,
    network_prefixes,
)
from risk.loading import get_geo_provider
from tests.base import SimpleTestCase


class DemoDatabaseMixin:
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._tmp = tempfile.TemporaryDirectory()
        cls.city_db, cls.asn_db = build_demo_databases(cls._tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()
        super().tearDownClass()


class ProviderTests(DemoDatabaseMixin, SimpleTestCase):
    def test_city_and_asn(self):
        geo = MaxMindGeoProvider(str(self.city_db), str(self.asn_db)).lookup("192.0.2.55")
        self.assertEqual((geo.country, geo.city, geo.region), ("NO", "Oslo", "Oslo"))
        self.assertAlmostEqual(geo.latitude, 59.9139, places=3)
        self.assertEqual(geo.accuracy_radius_km, 20)
        self.assertEqual((geo.asn, geo.asn_org), (64500, "Demo Fjord Broadband"))

    def test_hosting_asn_in_demo(self):
        geo = MaxMindGeoProvider(str(self.city_db), str(self.asn_db)).lookup("203.0.113.9")
        self.assertEqual((geo.country, geo.city, geo.asn), ("AU", "Sydney", 16509))

    def test_ipv4_mapped_ipv6_is_normalised(self):
        geo = MaxMindGeoProvider(str(self.city_db), str(self.asn_db)).lookup("::ffff:198.51.100.4")
        self.assertEqual((geo.country, geo.city), ("BR", "Sao Paulo"))

    def test_unknown_and_invalid_addresses(self):
        provider = MaxMindGeoProvider(str(self.city_db), str(self.asn_db))
        self.assertIsNone(provider.lookup("8.8.8.8"))
        self.assertIsNone(provider.lookup("not an ip"))

    def test_asn_only(self):
        geo = MaxMindGeoProvider("", str(self.asn_db)).lookup("192.0.2.1")
        self.assertIsNone(geo.country)
        self.assertEqual(geo.asn, 64500)

    def test_missing_files_mean_no_geo(self):
        provider = MaxMindGeoProvider("/nonexistent/city.mmdb", "/nonexistent/asn.mmdb")
        self.assertFalse(provider.available())
        self.assertIsNone(provider.lookup("192.0.2.1"))
        self.assertIsNone(MaxMindGeoProvider(None, None).lookup("192.0.2.1"))

    def test_corrupt_file_raises_a_dedicated_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            bad = Path(tmp) / "broken.mmdb"
            bad.write_bytes(b"\x00not a maxmind database" * 50)
            with self.assertRaises(GeoIPDatabaseError):
                MaxMindGeoProvider(str(bad), None).lookup("192.0.2.1")

    def test_settings_paths_and_cached_loader(self):
        with override_settings(RISK_GEOIP_CITY_DB=str(self.city_db), RISK_GEOIP_ASN_DB=str(self.asn_db)):
            self.assertEqual(lookup("192.0.2.1").city, "Oslo")
        with override_settings(RISK_GEOIP_CITY_DB=None, RISK_GEOIP_ASN_DB=None):
            self.assertIsNone(lookup("192.0.2.1"))

    @override_settings(RISK_GEOIP_PROVIDER="risk.geo.NullGeoProvider")
    def test_provider_is_swappable(self):
        self.assertEqual(type(get_geo_provider()).__name__, "NullGeoProvider")


def _model_lookup(city_db, asn_db, ip):
    """The provider's answer built from geoip2's model objects (the reference for the raw reads)."""
    import geoip2.database
    import geoip2.errors

    fields = {}
    for path, method in ((city_db, "city"), (asn_db, "asn")):
        if not path:
            continue
        with geoip2.database.Reader(str(path)) as reader:
            try:
                rec = getattr(reader, method)(canonical_ip_or_none(ip))
            except geoip2.errors.AddressNotFoundError:
                continue
        if method == "city":
            sub = rec.subdivisions.most_specific
            fields.update(
                country=rec.country.iso_code,
                region=sub.name if sub else None,
                city=rec.city.name,
                latitude=rec.location.latitude,
                longitude=rec.location.longitude,
                accuracy_radius_km=rec.location.accuracy_radius,
            )
        else:
            fields.update(asn=rec.autonomous_system_number, asn_org=rec.autonomous_system_organization)
    return GeoResult(**fields) if fields else None


class RawReadTests(SimpleTestCase):
    """Lookups read raw records and give what geoip2's model objects give."""

    @classmethod
    def setUpClass(cls):
        import mmdb_writer
        import netaddr

        super().setUpClass()
        cls._tmp = tempfile.TemporaryDirectory()
        cls.city_db, cls.asn_db = build_demo_databases(cls._tmp.name)
        sparse = mmdb_writer.MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-City")
        sparse.insert_network(netaddr.IPSet(["10.1.0.0/24"]), {"country": {"iso_code": "SE"}})
        sparse.insert_network(
            netaddr.IPSet(["10.2.0.0/24"]),
            {
                "city": {"names": {"de": "Genf"}},
                "subdivisions": [{"names": {"en": "Outer"}}, {"names": {"en": "Inner"}}],
                "location": {"latitude": 46.2},
            },
        )
        sparse.insert_network(netaddr.IPSet(["10.3.0.0/24"]), {"subdivisions": []})
        cls.sparse_db = Path(cls._tmp.name) / "sparse-city.mmdb"
        sparse.to_db_file(str(cls.sparse_db))

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()
        super().tearDownClass()

    def test_same_results_as_geoip2_models(self):
        addresses = ["192.0.2.55", "::ffff:198.51.100.4", "203.0.113.9", "8.8.8.8", "2001:db8::1"]
        addresses += ["10.1.0.1", "10.2.0.1", "10.3.0.1", "10.4.0.1"]
        for city_db, asn_db in ((self.city_db, self.asn_db), (self.sparse_db, self.asn_db), ("", self.asn_db)):
            provider = MaxMindGeoProvider(str(city_db), str(asn_db))
            for ip in addresses:
                with self.subTest(city_db=str(city_db), ip=ip):
                    self.assertEqual(provider.lookup(ip), _model_lookup(city_db, asn_db, ip))
            provider.close()

    def test_wrong_database_type_is_refused_as_geoip2_refuses_it(self):
        provider = MaxMindGeoProvider(str(self.asn_db), None)  # an ASN database given as the City one
        with self.assertRaises(TypeError):
            provider.lookup("192.0.2.1")


class HelperTests(SimpleTestCase):
    def test_normalize(self):
        self.assertEqual(canonical_ip_or_none("::ffff:192.0.2.1"), "192.0.2.1")
        self.assertEqual(canonical_ip_or_none(" 2001:DB8::1 "), "2001:db8::1")
        self.assertIsNone(canonical_ip_or_none("example.com"))

    def test_normalize_matches_ipaddress(self):
        """The plain-IPv4 fast path answers as ipaddress does, invalid text included."""

        def reference(ip):
            addr = ipaddress.ip_address(ip.strip())
            if addr.version == 6 and addr.ipv4_mapped is not None:
                addr = addr.ipv4_mapped
            return str(addr)

        rng = random.Random(5)
        samples = [
            "0.0.0.0",  # noqa: S104  (an address to normalise, not a bind address)
            "255.255.255.255",
            " 10.0.0.1\n",
            "192.0.2.1",
            "01.2.3.4",
            "1.2.3.04",
            "00.1.2.3",
            "256.1.1.1",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.4 ",
            "1.2.3.\u0664",  # ARABIC-INDIC DIGIT FOUR
            "\uff11.2.3.4",  # FULLWIDTH DIGIT ONE
            "+1.2.3.4",
            "1.2.3.4/32",
            "0x1.2.3.4",
            "::ffff:192.0.2.1",
            "::FFFF:c000:0201",
            "2001:DB8::1",
            "fe80::1%eth0",
            "",
            "example.com",
        ]
        samples += [".".join(str(rng.randint(0, 300)) for _ in range(4)) for _ in range(2000)]
        octets = ["0", "00", "7", "07", "255", "256", "1000", ""]
        samples += [".".join(rng.choice(octets) for _ in range(4)) for _ in range(500)]
        for ip in samples:
            with self.subTest(ip=ip):
                try:
                    want = reference(ip)
                except ValueError:
                    self.assertIsNone(canonical_ip_or_none(ip))
                else:
                    self.assertEqual(canonical_ip_or_none(ip), want)

    def test_prefix_fallback(self):
        self.assertEqual(network_prefixes("192.0.2.77"), ("192.0.2.0/24", "192.0.0.0/16"))
        self.assertEqual(network_prefixes("2001:db8:1:2:3::1"), ("2001:db8:1:2::/64", "2001:db8:1::/48"))
        self.assertEqual(network_prefixes("::ffff:198.51.100.9")[0], "198.51.100.0/24")


class CheckTests(SimpleTestCase):
    def ids(self):
        return [m.id for m in run_checks() if m.id and m.id.startswith("risk.")]

    @override_settings(RISK_GEOIP_CITY_DB=None, RISK_GEOIP_ASN_DB="/nonexistent.mmdb")
    def test_absent_geoip_is_a_warning(self):
        self.assertEqual(self.ids().count("risk.W001"), 2)

    @override_settings(RISK_MODE="paranoid", RISK_THRESHOLDS={"CHALLENGE": 5, "DENY": 1}, RISK_FIRST_LOGIN="deny")
    def test_bad_settings_are_errors(self):
        ids = self.ids()
        for expected in ("risk.E001", "risk.E002", "risk.E003"):
            self.assertIn(expected, ids)


class DemoCommandTests(SimpleTestCase):
    @override_settings(DEBUG=False)
    def test_refuses_without_debug(self):
        with tempfile.TemporaryDirectory() as tmp, self.assertRaises(CommandError):
            call_command("geoip_demo_db", tmp)

    @override_settings(DEBUG=False)
    def test_force_writes_both_files(self):
        with tempfile.TemporaryDirectory() as tmp:
            call_command("geoip_demo_db", tmp, "--force", stdout=StringIO())
            provider = MaxMindGeoProvider(str(Path(tmp) / "demo-city.mmdb"), str(Path(tmp) / "demo-asn.mmdb"))
            self.assertEqual(provider.lookup("198.51.100.1").asn, 64501)
            provider.close()

    def test_a_file_where_the_directory_should_be_is_a_clear_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            existing = Path(tmp) / "a-file"
            existing.write_text("not a directory")
            for outdir in (existing, existing / "below"):
                with self.subTest(outdir=outdir), self.assertRaisesMessage(CommandError, "is not a directory"):
                    call_command("geoip_demo_db", str(outdir), "--force", stdout=StringIO())
            self.assertEqual(existing.read_text(), "not a directory")
