"""manage.py oidc_keys: generate a signing key, or show the configured ones."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from authsite.oidc import keys


class Command(BaseCommand):
    help = (
        "Generate an OpenID Connect signing key for OIDC_SIGNING_KEYS (generate [--alg RS256|ES256]), "
        "or list the configured keys with their kid, algorithm and role (show)."
    )

    # Generating the first key must work before OIDC_SIGNING_KEYS is set (the check would refuse).
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["generate", "show"])
        parser.add_argument("--alg", choices=keys.ALGORITHMS, default=keys.RS256, help="Key type (default RS256)")

    def handle(self, *args, action: str, alg: str, **options) -> None:
        if action == "generate":
            value = keys.key_generate(alg)
            key = keys.key_parse(value)
            self.stderr.write(
                f"A new {alg} key, kid {key.kid}. Add it at the END of OIDC_SIGNING_KEYS (comma-separated) so it "
                "is published before it signs; move it first once clients have fetched the JWKS."
            )
            self.stdout.write(value)
            return
        try:
            configured = keys.signing_keys()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        for number, key in enumerate(configured):
            role = "signs ID tokens" if number == 0 else "published only (verification, rotation)"
            self.stdout.write(f"{number + 1}. kid={key.kid} alg={key.alg}: {role}")
