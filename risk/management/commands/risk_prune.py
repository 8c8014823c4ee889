"""Drop per-user feature counts not seen for a while (RISK.md: about six months)."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from risk.store import DatabaseCountStore


class Command(BaseCommand):
    help = "Delete per-user feature counts whose value was last seen more than --days ago."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=183)

    def handle(self, *args, **options):
        if options["days"] < 1:
            raise CommandError("--days must be at least 1")
        before = timezone.now() - timedelta(days=options["days"])
        deleted = DatabaseCountStore.prune(before)
        self.stdout.write(f"Dropped {deleted} per-user feature counts last seen before {before:%Y-%m-%d}.")
