"""Print a user's factors, remembered devices and last sign-ins (for support, without the admin)."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from authsite.center.account_admin import account_mfa_status, user_by_email


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "never"


class Command(BaseCommand):
    help = "Show a user's second factors (with throttle state), remembered devices and last sign-ins."

    def add_arguments(self, parser) -> None:
        parser.add_argument("user", help="The user's email address.")
        parser.add_argument("--events", type=int, default=5, help="How many recent sign-ins to list (default 5).")

    def handle(self, *args, **options) -> None:
        if not 0 <= options["events"] <= 1000:
            raise CommandError("--events must be between 0 and 1000.")
        user = user_by_email(options["user"])
        if user is None:
            raise CommandError(f"No user with the email address {options['user']!r}.")
        status = account_mfa_status(user=user, events_limit=options["events"])
        out = self.stdout
        out.write(f"{user.email} (id {user.pk}){'' if user.is_active else ' INACTIVE'}")
        if user.mfa_enrol_required_at is not None:
            out.write(f"Must set up a sign-in method at the next sign-in (since {_when(user.mfa_enrol_required_at)}).")
        out.write(f"Factors ({len(status['factors'])}):")
        if not status["factors"]:
            out.write("  none")
        for f in status["factors"]:
            state = "" if f.confirmed else " [not confirmed]"
            throttle = f"{f.failure_count} failure(s)" if f.failure_count else "no failures"
            if f.locked_until:
                throttle += f", locked until {_when(f.locked_until)}"
            detail = f", {f.detail}" if f.detail else ""
            out.write(
                f"  {f.kind:<9} {f.name!r}{state}  created {_when(f.created_at)}, last used {_when(f.last_used_at)}, "
                f"{throttle}{detail}  [{f.device_id}]"
            )
        out.write(f"Remembered devices ({len(status['trusted_devices'])}):")
        if not status["trusted_devices"]:
            out.write("  none")
        for d in status["trusted_devices"]:
            out.write(
                f"  {d.label or 'device'}  remembered {_when(d.created_at)}, last used {_when(d.last_used_at)}, "
                f"expires {_when(d.expires_at)}"
            )
        out.write(f"Last sign-ins ({len(status['events'])}):")
        if not status["events"]:
            out.write("  none")
        for e in status["events"]:
            score = "engine error" if e.score is None else f"{e.score:.2f}"
            place = ", ".join(p for p in (e.city, e.country) if p) or "unknown place"
            codes = ", ".join(r.get("code", "") for r in e.reasons if isinstance(r, dict)) or "-"
            out.write(
                f"  {_when(e.created_at)}  {e.ip} ({place})  score {score}  {e.decision} -> {e.outcome}"
                f"{' via ' + e.factor if e.factor else ''}  reasons: {codes}"
            )
