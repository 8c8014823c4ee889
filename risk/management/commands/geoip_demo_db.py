"""Write demo GeoIP2 City and ASN databases for the RFC 5737 documentation ranges."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from risk.geo import build_demo_databases


class Command(BaseCommand):
    help = "Write demo-city.mmdb and demo-asn.mmdb (documentation ranges only) into OUTDIR."
    # It writes the very files whose absence the system checks warn about.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("outdir")
        parser.add_argument("--force", action="store_true", help="Allow when DEBUG is off.")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError("Refusing without DEBUG: demo data is not real geolocation. Use --force if you mean it.")
        outdir = Path(options["outdir"])
        if outdir.exists() and not outdir.is_dir():
            raise CommandError(f"{outdir} is not a directory.")
        try:
            city, asn = build_demo_databases(outdir)
        except NotADirectoryError:
            raise CommandError(f"{outdir} is not a directory (a part of the path is a file).") from None
        except OSError as exc:
            raise CommandError(f"Cannot write the demo databases into {outdir}: {exc.strerror or exc}.") from None
        self.stdout.write(f"City: {city}\nASN: {asn}")
        self.stdout.write("Point the environment variables GEOIP_CITY_DB and GEOIP_ASN_DB at these files.")
