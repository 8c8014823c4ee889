"""Check the configured GeoIP databases: present, readable, which type and build, one sample lookup."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import geoip2.database
from django.core.management.base import BaseCommand, CommandError
from maxminddb.errors import InvalidDatabaseError

from risk import conf
from risk.geo import GeoIPDatabaseError, MaxMindGeoProvider

SAMPLE_IP = "192.0.2.10"
SETTINGS = (("City", "RISK_GEOIP_CITY_DB", "GEOIP_CITY_DB"), ("ASN", "RISK_GEOIP_ASN_DB", "GEOIP_ASN_DB"))


class Command(BaseCommand):
    help = (
        "Print the configured GeoIP City and ASN database paths, whether they open, their type and build "
        f"date, and a lookup of {SAMPLE_IP}. Exits non-zero when a configured file is missing or unreadable."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--ip", default=SAMPLE_IP, help=f"Address to look up (default {SAMPLE_IP}).")

    def handle(self, *args, **options) -> None:
        problems: list[str] = []
        configured = 0
        for kind, setting, env in SETTINGS:
            path = conf.get(setting)
            if not path:
                self.stdout.write(f"{kind}: not configured ({env} is not set); sign-ins are scored without it.")
                continue
            configured += 1
            problem = self._describe(kind, Path(path))
            if problem:
                problems.append(problem)
        if problems:
            raise CommandError("; ".join(problems))
        if configured:
            self._sample(options["ip"])

    def _describe(self, kind: str, path: Path) -> str | None:
        self.stdout.write(f"{kind}: {path}")
        if not path.is_file():
            return f"{kind} database {path} does not exist"
        try:
            with geoip2.database.Reader(str(path)) as reader:
                meta = reader.metadata()
        except (OSError, ValueError, InvalidDatabaseError) as exc:
            return f"{kind} database {path} cannot be read: {exc}"
        built = datetime.fromtimestamp(meta.build_epoch, tz=UTC)
        self.stdout.write(f"  opens: yes, type {meta.database_type}, built {built:%Y-%m-%d}, IPv{meta.ip_version}")
        return None

    def _sample(self, ip: str) -> None:
        provider = MaxMindGeoProvider()
        try:
            result = provider.lookup(ip)
        except GeoIPDatabaseError as exc:
            raise CommandError(f"Lookup of {ip} failed: {exc}") from exc
        finally:
            provider.close()
        if result is None:
            self.stdout.write(f"Lookup {ip}: not found")
            return
        place = ", ".join(p for p in (result.city, result.region, result.country) if p) or "no place"
        network = f"AS{result.asn} {result.asn_org or ''}".strip() if result.asn else "no network"
        self.stdout.write(f"Lookup {ip}: {place}; {network}")
