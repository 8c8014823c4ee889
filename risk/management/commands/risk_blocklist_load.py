"""Load an IP reputation list (FireHOL .netset, plain CIDR, Tor exit list) or a hosting list into the database."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from risk.blocklist import blocklist_load
from risk.models import IPBlocklist


class Command(BaseCommand):
    help = (
        "Load an IP reputation list into the database so every process of the site uses it. "
        "Formats: FireHOL .netset / plain CIDR or addresses (one per line, # comments) and the Tor "
        "exit list (ExitAddress lines). With --kind hosting: hosting and VPN networks, as AS numbers "
        "(AS16509 or 16509) and CIDRs, one per line. Loading a list with an existing name replaces it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", nargs="?", help="path of the list file")
        parser.add_argument("--name", help="name of the list (default: the file name without extension)")
        parser.add_argument(
            "--kind",
            choices=[k for k, _ in IPBlocklist.KINDS],
            default=IPBlocklist.REPUTATION,
            help="reputation (abuse lists, the default) or hosting (hosting and VPN networks: ASNs and CIDRs)",
        )
        parser.add_argument("--remove", metavar="NAME", help="remove the list NAME instead of loading one")
        parser.add_argument("--list", action="store_true", help="show the loaded lists")

    def handle(self, *args, **options) -> None:
        if options["list"]:
            for blocklist in IPBlocklist.objects.all():
                loaded = f"{blocklist.loaded_at:%Y-%m-%d %H:%M} UTC"
                if blocklist.kind == IPBlocklist.HOSTING:
                    what = f"{blocklist.name} (hosting): {blocklist.count} entries"
                else:
                    what = f"{blocklist.name}: {blocklist.count} networks"
                self.stdout.write(f"{what} from {blocklist.source}, loaded {loaded}")
            return
        if options["remove"]:
            deleted, _ = IPBlocklist.objects.filter(name=options["remove"]).delete()
            if not deleted:
                raise CommandError(f"No list named {options['remove']!r}.")
            self.stdout.write(f"Removed {options['remove']}.")
            return
        if not options["file"]:
            raise CommandError("Give the file of a list to load (or --list, or --remove NAME).")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        name = (options["name"] or path.stem)[:64]
        try:
            result = blocklist_load(path=path, name=name, kind=options["kind"])
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        verb = "Replaced" if result.replaced else "Loaded"
        skipped = f"; {result.skipped} unreadable line(s) skipped" if result.skipped else ""
        if options["kind"] == IPBlocklist.HOSTING:
            self.stdout.write(f"{verb} {result.name} (hosting): {result.count} ASNs and networks{skipped}.")
        else:
            self.stdout.write(f"{verb} {result.name}: {result.count} networks{skipped}.")
