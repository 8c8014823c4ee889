"""Load an IP reputation list (FireHOL .netset, plain CIDR, Tor exit list) into the database."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from risk.blocklist import blocklist_load
from risk.models import IPBlocklist


class Command(BaseCommand):
    help = (
        "Load an IP reputation list into the database so every process of the site uses it. "
        "Formats: FireHOL .netset / plain CIDR or addresses (one per line, # comments) and the Tor "
        "exit list (ExitAddress lines). Loading a list with an existing name replaces it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", nargs="?", help="path of the list file")
        parser.add_argument("--name", help="name of the list (default: the file name without extension)")
        parser.add_argument("--remove", metavar="NAME", help="remove the list NAME instead of loading one")
        parser.add_argument("--list", action="store_true", help="show the loaded lists")

    def handle(self, *args, **options) -> None:
        if options["list"]:
            for blocklist in IPBlocklist.objects.all():
                loaded = f"{blocklist.loaded_at:%Y-%m-%d %H:%M} UTC"
                self.stdout.write(
                    f"{blocklist.name}: {blocklist.count} networks from {blocklist.source}, loaded {loaded}"
                )
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
            result = blocklist_load(path=path, name=name)
        except (OSError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        verb = "Replaced" if result.replaced else "Loaded"
        skipped = f"; {result.skipped} unreadable line(s) skipped" if result.skipped else ""
        self.stdout.write(f"{verb} {result.name}: {result.count} networks{skipped}.")
