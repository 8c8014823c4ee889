"""Reset a user's MFA from the command line: the same service as the admin's "Reset MFA" action."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from authsite.center.account_admin import account_mfa_reset, user_by_email


class Command(BaseCommand):
    help = (
        "Remove all of a user's second factors and remembered devices, sign them out everywhere and "
        "email them. Only for someone who lost their factors and proved who they are."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("user", help="The user's email address.")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, **options) -> None:
        user = user_by_email(options["user"])
        if user is None:
            raise CommandError(f"No user with the email address {options['user']!r}.")
        if not options["yes"]:
            if not self.stdin_is_interactive():
                raise CommandError("Refusing to reset MFA without confirmation: pass --yes.")
            try:
                answer = input(f"Remove every factor of {user.email} and sign them out everywhere? Type 'yes': ")
            except (EOFError, KeyboardInterrupt):
                # Ctrl-D or Ctrl-C at the prompt is a "no".
                self.stdout.write("")
                answer = ""
            if answer.strip().lower() != "yes":
                raise CommandError("Cancelled: nothing was reset.")
        result = account_mfa_reset(user=user, by=None)
        self.stdout.write(
            f"Reset MFA of {user.email}: removed {result.factors_removed} factor(s), forgot "
            f"{result.devices_revoked} remembered device(s), ended {result.sessions_ended} session(s)."
        )
        if not result.emailed:
            self.stderr.write("The notification email could not be sent; tell the user another way.")

    def stdin_is_interactive(self) -> bool:
        import sys

        return sys.stdin.isatty()
