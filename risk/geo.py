"""GeoIP2 City and ASN lookups, opened lazily, absent gracefully, and a demo database builder.

No configured path, or a path whose file does not exist, means "no geo": lookups return None and
the system check ``risk.W001`` says so. A file that exists but cannot be read raises
:class:`GeoIPDatabaseError`, which callers treat as an engine failure (fail closed, docs/house-rules.md,
rule 6) rather than as "no location".
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import geoip2.database
import geoip2.errors
from maxminddb.errors import InvalidDatabaseError

from authsite.core.clientip import canonical_ip_or_none
from risk import conf

logger = logging.getLogger(__name__)
_AddressNotFoundError = geoip2.errors.AddressNotFoundError


class GeoIPDatabaseError(Exception):
    """A configured GeoIP database exists but cannot be opened or read."""


@dataclass(slots=True)
class GeoResult:
    """What a GeoIP lookup knows about an address; every field may be missing.

    Read-only by contract, but not frozen: the replay builds one per row, and a frozen dataclass
    sets each field through ``object.__setattr__`` (about 1.5 us more per result).
    """

    country: str | None = None
    region: str | None = None
    city: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    accuracy_radius_km: float | None = None
    asn: int | None = None
    asn_org: str | None = None


def network_prefixes(ip: str) -> tuple[str, str]:
    """Return the (narrow, wide) networks of an address: /24 and /16 for IPv4, /64 and /48 for IPv6.

    Used as the network level of the IP hierarchy when no ASN is known.
    """
    canonical = canonical_ip_or_none(ip)
    if canonical is None:
        raise ValueError(f"not an IP address: {ip!r}")
    addr = ipaddress.ip_address(canonical)
    narrow, wide = (24, 16) if addr.version == 4 else (64, 48)
    return (
        str(ipaddress.ip_network(f"{addr}/{narrow}", strict=False)),
        str(ipaddress.ip_network(f"{addr}/{wide}", strict=False)),
    )


class GeoProvider:
    """Base class of GeoIP providers (RISK_GEOIP_PROVIDER)."""

    def lookup(self, ip: str) -> GeoResult | None:
        """Return what is known about ``ip``, or None when nothing is."""
        raise NotImplementedError

    def available(self) -> bool:
        """Return whether this provider can locate anything."""
        return False


class NullGeoProvider(GeoProvider):
    """A provider that knows nothing (for tests and for sites without GeoIP)."""

    def lookup(self, ip: str) -> GeoResult | None:
        return None


def _usable_path(path: str | os.PathLike | None) -> Path | None:
    if not path:
        return None
    path = Path(path)
    return path if path.is_file() else None


# geoip2 builds a model object per answer (about 10 us for a City record, five times the read
# itself). The provider reads the record through the reader's maxminddb reader and takes the few
# fields it needs, exactly as geoip2's models would present them (names in geoip2's default
# locale, "en"). Whenever that shortcut does not apply (another database type, which geoip2
# refuses with TypeError; a record of an unexpected shape) the geoip2 method answers instead.
_LOCALE = "en"


def _raw_get(reader, database_type: str):
    """Return the raw ``get`` of a geoip2 reader whose database type geoip2 would accept, or None."""
    db_reader = getattr(reader, "_db_reader", None)
    if db_reader is None or database_type not in reader.metadata().database_type:
        return None
    return db_reader.get


def _city_fields(reader, raw_get, ip: str) -> tuple | None:
    """Return (country, region, city, latitude, longitude, accuracy radius) or None if not found."""
    if raw_get is not None:
        raw = raw_get(ip)
        if raw is None:
            return None
        if isinstance(raw, dict):
            try:
                subdivisions = raw.get("subdivisions") or ()
                return (
                    (raw.get("country") or {}).get("iso_code"),
                    ((subdivisions[-1].get("names") or {}).get(_LOCALE)) if subdivisions else None,
                    ((raw.get("city") or {}).get("names") or {}).get(_LOCALE),
                    *_location(raw.get("location") or {}),
                )
            except (AttributeError, TypeError, KeyError, IndexError):
                pass
    try:
        rec = reader.city(ip)
    except _AddressNotFoundError:
        return None
    sub = rec.subdivisions.most_specific
    location = rec.location
    return (
        rec.country.iso_code,
        sub.name if sub else None,
        rec.city.name,
        location.latitude,
        location.longitude,
        location.accuracy_radius,
    )


def _location(location: dict) -> tuple:
    return location.get("latitude"), location.get("longitude"), location.get("accuracy_radius")


def _asn_fields(reader, raw_get, ip: str) -> tuple | None:
    """Return (number, organisation) or None if not found."""
    if raw_get is not None:
        raw = raw_get(ip)
        if raw is None:
            return None
        if isinstance(raw, dict):
            return raw.get("autonomous_system_number"), raw.get("autonomous_system_organization")
    try:
        rec = reader.asn(ip)
    except _AddressNotFoundError:
        return None
    return rec.autonomous_system_number, rec.autonomous_system_organization


class MaxMindGeoProvider(GeoProvider):
    """GeoIP2/GeoLite2 (or DB-IP Lite) City and ASN databases read with ``geoip2``."""

    def __init__(self, city_db: str | None = None, asn_db: str | None = None) -> None:
        if city_db is None:
            city_db = conf.get("RISK_GEOIP_CITY_DB")
        if asn_db is None:
            asn_db = conf.get("RISK_GEOIP_ASN_DB")
        self.city_path = _usable_path(city_db)
        self.asn_path = _usable_path(asn_db)
        self._city = None
        self._asn = None
        self._city_get = None  # raw record readers, see _raw_get
        self._asn_get = None
        self._lock = threading.Lock()

    def available(self) -> bool:
        return self.city_path is not None or self.asn_path is not None

    def _open(self, path: Path):
        try:
            return geoip2.database.Reader(str(path))
        except (OSError, ValueError, InvalidDatabaseError) as exc:
            raise GeoIPDatabaseError(f"cannot read GeoIP database {path.name}: {exc}") from exc

    def _readers(self):
        if (self.city_path and self._city is None) or (self.asn_path and self._asn is None):
            with self._lock:
                if self.city_path and self._city is None:
                    reader = self._open(self.city_path)
                    self._city_get = _raw_get(reader, "City")
                    self._city = reader
                if self.asn_path and self._asn is None:
                    reader = self._open(self.asn_path)
                    self._asn_get = _raw_get(reader, "GeoLite2-ASN")
                    self._asn = reader
        return self._city, self._asn

    def lookup(self, ip: str) -> GeoResult | None:
        city_path, asn_path = self.city_path, self.asn_path
        if city_path is None and asn_path is None:
            return None
        ip = canonical_ip_or_none(ip)
        if ip is None:
            return None
        city_reader, asn_reader = self._city, self._asn
        if (city_path and city_reader is None) or (asn_path and asn_reader is None):
            city_reader, asn_reader = self._readers()
        place = network = None
        try:
            if city_reader is not None:
                place = _city_fields(city_reader, self._city_get, ip)
            if asn_reader is not None:
                network = _asn_fields(asn_reader, self._asn_get, ip)
        except (geoip2.errors.GeoIP2Error, InvalidDatabaseError, ValueError, OSError) as exc:
            raise GeoIPDatabaseError(f"GeoIP lookup failed: {exc}") from exc
        if place is None:
            if network is None:
                return None
            return GeoResult(asn=network[0], asn_org=network[1])
        country, region, city, latitude, longitude, accuracy = place
        return GeoResult(
            country=country,
            region=region,
            city=city,
            latitude=latitude,
            longitude=longitude,
            accuracy_radius_km=accuracy,
            asn=network[0] if network is not None else None,
            asn_org=network[1] if network is not None else None,
        )

    def close(self) -> None:
        """Close the open readers."""
        for reader in (self._city, self._asn):
            if reader is not None:
                reader.close()
        self._city = self._asn = self._city_get = self._asn_get = None


_get_geo_provider = None


def lookup(ip: str) -> GeoResult | None:
    """Look ``ip`` up with the configured provider."""
    global _get_geo_provider  # noqa: PLW0603  (risk.loading imports this module's users: bind lazily)
    if _get_geo_provider is None:
        from risk.loading import get_geo_provider

        _get_geo_provider = get_geo_provider
    return _get_geo_provider().lookup(ip)


# --- Demo databases for documentation ranges (RFC 5737) ------------------------------------------
DEMO_CITY = [
    ("192.0.2.0/24", "NO", "Oslo", "Oslo", 59.9139, 10.7522),
    ("198.51.100.0/24", "BR", "Sao Paulo", "Sao Paulo", -23.5505, -46.6333),
    ("203.0.113.0/24", "AU", "New South Wales", "Sydney", -33.8688, 151.2093),
]
DEMO_ASN = [
    ("192.0.2.0/24", 64500, "Demo Fjord Broadband"),
    ("198.51.100.0/24", 64501, "Demo Paulista Telecom"),
    # A hosting network: 203.0.113.0/24 is announced by a cloud provider in the demo.
    ("203.0.113.0/24", 16509, "Demo Cloud Hosting (AMAZON-02)"),
]


def build_demo_databases(outdir: str | os.PathLike) -> tuple[Path, Path]:
    """Write demo City and ASN databases into ``outdir``; return their paths.

    192.0.2.0/24 is Oslo (NO), 198.51.100.0/24 Sao Paulo (BR), 203.0.113.0/24 Sydney (AU) on a
    hosting ASN (16509).
    """
    import mmdb_writer
    import netaddr

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    city = mmdb_writer.MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="GeoLite2-City",
        languages=["en"],
        description={"en": "Demo city database for documentation ranges"},
    )
    for cidr, cc, region, name, lat, lon in DEMO_CITY:
        city.insert_network(
            netaddr.IPSet([cidr]),
            {
                "city": {"names": {"en": name}},
                "country": {"iso_code": cc, "names": {"en": cc}},
                "location": {"latitude": lat, "longitude": lon, "accuracy_radius": 20},
                "subdivisions": [{"names": {"en": region}}],
            },
        )
    asn = mmdb_writer.MMDBWriter(
        ip_version=6,
        ipv4_compatible=True,
        database_type="GeoLite2-ASN",
        languages=["en"],
        description={"en": "Demo ASN database for documentation ranges"},
    )
    for cidr, number, org in DEMO_ASN:
        asn.insert_network(
            netaddr.IPSet([cidr]),
            {
                "autonomous_system_number": mmdb_writer.MmdbU32(number),
                "autonomous_system_organization": org,
            },
        )
    city_path, asn_path = outdir / "demo-city.mmdb", outdir / "demo-asn.mmdb"
    city.to_db_file(str(city_path))
    asn.to_db_file(str(asn_path))
    return city_path, asn_path
