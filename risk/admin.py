"""Admin views of the risk engine: every assessed sign-in with its reasons; remembered devices."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from authsite.core import clock
from risk.models import IPBlocklist, LoginEvent, TrustedDevice
from risk.policy import REASON_TEXTS

BREAKDOWN_LABELS = (
    ("model", _("history model")),
    ("network", _("network")),
    ("signals", _("signals")),
    ("trust", _("trust")),
)
# How many recent events the reason filter reads to offer the codes actually in use.
REASON_SAMPLE = 1000


def with_reason(queryset: QuerySet, code: str) -> QuerySet:
    """Filter events whose ``reasons`` list holds an entry with this ``code``.

    PostgreSQL answers a JSON containment (``@>``, served by a GIN index if one is added); SQLite
    has no JSON containment in Django, so it asks json_each() directly.
    """
    if connection.features.supports_json_field_contains:
        return queryset.filter(reasons__contains=[{"code": code}])
    table = LoginEvent._meta.db_table
    # The code is a bound parameter; only the table name (from the model) is interpolated.
    has_reason = RawSQL(  # noqa: S611
        f"EXISTS (SELECT 1 FROM json_each({table}.reasons) AS r WHERE json_extract(r.value, '$.code') = %s)",  # noqa: S608
        (code,),
        output_field=BooleanField(),
    )
    return queryset.alias(has_reason=has_reason).filter(has_reason=True)


class ReasonFilter(admin.SimpleListFilter):
    """Filter by reason code: the engine's own codes plus any seen in recent events."""

    title = _("reason")
    parameter_name = "reason"

    def lookups(self, request, model_admin):
        codes = set(REASON_TEXTS)
        for reasons in LoginEvent.objects.order_by("-created_at").values_list("reasons", flat=True)[:REASON_SAMPLE]:
            codes.update(r.get("code") for r in reasons or () if isinstance(r, dict) and r.get("code"))
        return [(code, code.replace("_", " ")) for code in sorted(codes)]

    def queryset(self, request, queryset):
        value = self.value()
        return with_reason(queryset, value) if value else queryset


class CountryFilter(admin.SimpleListFilter):
    """Filter by country; events the GeoIP database could not place are offered as "unknown".

    Django's own filter for the field would offer them as a link with no text (WCAG 2.4.4).
    """

    title = _("country")
    parameter_name = "country"
    UNKNOWN = "unknown"  # never a country code: those are two letters

    def lookups(self, request, model_admin):
        countries = LoginEvent.objects.order_by("country").values_list("country", flat=True).distinct()
        return [(c or self.UNKNOWN, c or _("unknown")) for c in countries]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(country="" if value == self.UNKNOWN else value)


class AppFilter(admin.SimpleListFilter):
    """Filter by the application a sign-in was for (an OpenID Connect client), or this site itself.

    Offered by name, chosen by client ID; sign-ins to the site itself are "This site" (Django's own
    filter would offer them as a link with no text, WCAG 2.4.4).
    """

    title = _("application")
    parameter_name = "app_id"
    SITE = "site"  # never a client ID: those are 40 random characters

    def lookups(self, request, model_admin):
        apps = LoginEvent.objects.order_by("app", "app_id").values_list("app_id", "app").distinct()
        return [(app_id or self.SITE, name or _("This site")) for app_id, name in apps]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        return queryset.filter(app_id="" if value == self.SITE else value)


@admin.register(LoginEvent)
class LoginEventAdmin(admin.ModelAdmin):
    """Read-only: events are evidence."""

    date_hierarchy = "created_at"
    # Narrow enough for the score, decision and outcome to show at 1280 px beside both sidebars; the
    # network, the device and the rest of the context are on each event's page.
    list_display = ("when", "user", "origin", "app_display", "score_display", "decision", "outcome")
    list_filter = ("decision", ReasonFilter, "outcome", CountryFilter, AppFilter, "mode", "trusted_device")
    search_fields = ("user__email", "ip", "network", "network_org")
    list_select_related = ("user",)
    readonly_fields = (
        "created_at",
        "user",
        "app",
        "app_id",
        "ip",
        "network",
        "network_org",
        "asn",
        "country",
        "region",
        "city",
        "latitude",
        "longitude",
        "user_agent",
        "browser",
        "os",
        "device_type",
        "device_key",
        "trusted_device",
        "round_trip_ms",
        "mode",
        "earlier_sign_ins",
        "score",
        "decision",
        "reasons_display",
        "breakdown",
        "outcome",
        "factor",
        "request_id",
    )
    exclude = ("reasons",)

    @admin.display(description=_("When"), ordering="created_at")
    def when(self, event: LoginEvent) -> str:
        return date_format(localtime(event.created_at), "Y-m-d H:i")

    @admin.display(description=_("From"), ordering="ip")
    def origin(self, event: LoginEvent) -> str:
        """The address, and below it the place the GeoIP database gave for it."""
        return format_html("{}<br>{}", event.ip, ", ".join(p for p in (event.city, event.country) if p) or "-")

    @admin.display(description=_("Device"))
    def device(self, event: LoginEvent) -> str:
        return " / ".join(p for p in (event.browser, event.os) if p) or "-"

    @admin.display(description=_("For"), ordering="app")
    def app_display(self, event: LoginEvent) -> str:
        """The application the sign-in was for (an OpenID Connect client), or this site."""
        return event.app or _("This site")

    @admin.display(description=_("Score"), ordering="score")
    def score_display(self, event: LoginEvent) -> str:
        return _("engine error") if event.score is None else f"{event.score:.2f}"

    @admin.display(description=_("Reasons"))
    def reasons_display(self, event: LoginEvent) -> str:
        """List each reason with what it added to the score (``risk.policy.Reason.as_dict``).

        Events stored before reasons carried a weight show the reason alone.
        """
        rows = []
        for r in event.reasons or ():
            if not isinstance(r, dict):
                continue
            weight = r.get("weight")
            suffix = f" ({weight:+.2f})" if isinstance(weight, int | float) and not isinstance(weight, bool) else ""
            rows.append((r.get("code", ""), _(r["text"]) if r.get("text") else "", suffix))
        reasons = format_html_join("", "<div><code>{}</code>: {}{}</div>", rows)
        return format_html("{}{}", reasons, self._breakdown_html(event)) if rows else "-"

    @staticmethod
    def _breakdown_html(event: LoginEvent) -> str:
        parts = [
            (label, event.breakdown.get(key))
            for key, label in BREAKDOWN_LABELS
            if isinstance(event.breakdown, dict) and isinstance(event.breakdown.get(key), int | float)
        ]
        if not parts:
            return ""
        return format_html(
            '<div class="help">Score contributions: {}</div>',
            format_html_join(", ", "{} {}", ((label, f"{value:+.2f}") for label, value in parts)),
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TrustedDevice)
class TrustedDeviceAdmin(admin.ModelAdmin):
    list_display = ("label", "user", "created_at", "last_used_at", "expires_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("user__email", "label")
    list_select_related = ("user",)
    fields = ("user", "label", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = fields
    actions = ("revoke",)

    @admin.action(description=_("Revoke the selected remembered devices"), permissions=("change",))
    def revoke(self, request, queryset) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=clock.now())
        self.message_user(request, _("Revoked %(count)d remembered device(s).") % {"count": count}, messages.SUCCESS)

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(IPBlocklist)
class IPBlocklistAdmin(admin.ModelAdmin):
    """Read-only: lists are loaded with ``manage.py risk_blocklist_load``, which records their source."""

    list_display = ("name", "kind", "count", "source", "loaded_at")
    list_filter = ("kind",)
    fields = ("name", "kind", "count", "source", "loaded_at", "networks")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
