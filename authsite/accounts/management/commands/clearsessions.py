"""Delete expired sessions from the session table (run it daily, for example from cron)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from authsite.accounts.sessions import sessions_clear_expired


class Command(BaseCommand):
    help = "Delete the sessions whose expiry date has passed from the project's session table."

    def handle(self, *args, **options) -> None:
        deleted = sessions_clear_expired()
        self.stdout.write(f"Deleted {deleted} expired session{'' if deleted == 1 else 's'}.")
