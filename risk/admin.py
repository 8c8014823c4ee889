"""Admin views of the risk engine: every assessed sign-in with its reasons; remembered devices."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html_join

from authsite import clock
from risk.models import IPBlocklist, LoginEvent, TrustedDevice


@admin.register(LoginEvent)
class LoginEventAdmin(admin.ModelAdmin):
    """Read-only: events are evidence."""

    date_hierarchy = "created_at"
    list_display = ("created_at", "user", "ip", "place", "network", "device", "score_display", "decision", "outcome")
    list_filter = ("decision", "outcome", "country", "mode", "trusted_device")
    search_fields = ("user__email", "ip", "network", "network_org")
    list_select_related = ("user",)
    readonly_fields = (
        "created_at",
        "user",
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
        "mode",
        "score",
        "decision",
        "reasons_display",
        "breakdown",
        "outcome",
        "factor",
        "request_id",
    )
    exclude = ("reasons",)

    @admin.display(description="Location")
    def place(self, event: LoginEvent) -> str:
        return ", ".join(p for p in (event.city, event.country) if p) or "-"

    @admin.display(description="Device")
    def device(self, event: LoginEvent) -> str:
        return " / ".join(p for p in (event.browser, event.os) if p) or "-"

    @admin.display(description="Score", ordering="score")
    def score_display(self, event: LoginEvent) -> str:
        return "engine error" if event.score is None else f"{event.score:.2f}"

    @admin.display(description="Reasons")
    def reasons_display(self, event: LoginEvent) -> str:
        return (
            format_html_join(
                "", "<div><code>{}</code>: {}</div>", ((r.get("code", ""), r.get("text", "")) for r in event.reasons)
            )
            or "-"
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

    @admin.action(description="Revoke the selected remembered devices")
    def revoke(self, request, queryset) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=clock.now())
        self.message_user(request, f"Revoked {count} remembered device(s).", messages.SUCCESS)

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(IPBlocklist)
class IPBlocklistAdmin(admin.ModelAdmin):
    """Read-only: lists are loaded with ``manage.py risk_blocklist_load``, which records their source."""

    list_display = ("name", "count", "source", "loaded_at")
    fields = ("name", "count", "source", "loaded_at", "networks")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
