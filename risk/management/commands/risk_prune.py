"""Drop per-user feature counts not seen for a while (docs/risk-model.md: about six months)."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from risk.store import DatabaseCountStore

# A hundred years: more than any retention anyone means, far below what a date can hold.
MAX_DAYS = 36500


class Command(BaseCommand):
    help = "Delete per-user feature counts whose value was last seen more than --days ago."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=183, help=f"1 to {MAX_DAYS} (default 183).")

    def handle(self, *args, **options):
        if not 1 <= options["days"] <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}, not {options['days']}.")
        before = timezone.now() - timedelta(days=options["days"])
        deleted = DatabaseCountStore.prune(before)
        self.stdout.write(f"Dropped {deleted} per-user feature counts last seen before {before:%Y-%m-%d}.")
