"""Re-encrypt stored factor secrets with the newest FACTORS_ENCRYPTION_KEYS key."""

from __future__ import annotations

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError

from factors.services import factor_reencrypt_secrets


class Command(BaseCommand):
    help = "Re-encrypt TOTP secrets with the first key of FACTORS_ENCRYPTION_KEYS (after adding a key)."

    def handle(self, *args, **options) -> None:
        try:
            changed = factor_reencrypt_secrets()
        except InvalidToken as exc:
            raise CommandError(
                f"{exc} Was the old key replaced instead of kept? Put the new key first and keep the "
                "old key after it in FACTORS_ENCRYPTION_KEYS, then run factors_reencrypt again; drop "
                "the old key only after that run succeeds."
            ) from None
        self.stdout.write(f"Re-encrypted {changed} secret(s).")
