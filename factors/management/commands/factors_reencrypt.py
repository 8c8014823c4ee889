"""Re-encrypt stored factor secrets with the newest FACTORS_ENCRYPTION_KEYS key."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from factors.services import factor_reencrypt_secrets


class Command(BaseCommand):
    help = "Re-encrypt TOTP secrets with the first key of FACTORS_ENCRYPTION_KEYS (after adding a key)."

    def handle(self, *args, **options) -> None:
        changed = factor_reencrypt_secrets()
        self.stdout.write(f"Re-encrypted {changed} secret(s).")
