"""Admin for factor devices: view, rename, disable, delete, reset a throttle. Never a secret.

Devices are not added here: enrollment needs the user (a scanned key, a received code, an
authenticator), so it happens through the services only.
"""

from __future__ import annotations

from django.contrib import admin, messages

from factors.models import (
    EmailDevice,
    RecoveryCodeDevice,
    SMSDevice,
    TOTPDevice,
    WebAuthnCredential,
)

COMMON = (
    "user",
    "name",
    "confirmed",
    "preferred",
    "created_at",
    "last_used_at",
    "throttling_failure_count",
    "throttling_failure_timestamp",
)
EDITABLE = {"name", "confirmed"}


class FactorDeviceAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "confirmed", "preferred", "created_at", "last_used_at", "throttling_failure_count")
    list_filter = ("confirmed",)
    search_fields = ("user__email", "name")
    list_select_related = ("user",)
    actions = ("reset_throttle",)
    extra_fields: tuple[str, ...] = ()

    def get_fields(self, request, obj=None):
        return COMMON + self.extra_fields

    def get_readonly_fields(self, request, obj=None):
        return tuple(f for f in self.get_fields(request, obj) if f not in EDITABLE)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Reset the failed-attempt throttle")
    def reset_throttle(self, request, queryset) -> None:
        count = queryset.update(throttling_failure_count=0, throttling_failure_timestamp=None)
        self.message_user(request, f"Reset the throttle of {count} device(s).", messages.SUCCESS)


@admin.register(TOTPDevice)
class TOTPDeviceAdmin(FactorDeviceAdmin):
    extra_fields = ("digits", "step", "tolerance", "last_t")


@admin.register(SMSDevice)
class SMSDeviceAdmin(FactorDeviceAdmin):
    list_display = (*FactorDeviceAdmin.list_display, "phone_number", "verified_at")
    search_fields = (*FactorDeviceAdmin.search_fields, "phone_number")
    extra_fields = ("phone_number", "calling_code", "verified_at", "last_generated_timestamp", "valid_until")


@admin.register(EmailDevice)
class EmailDeviceAdmin(FactorDeviceAdmin):
    extra_fields = ("email", "last_generated_timestamp", "valid_until")


@admin.register(WebAuthnCredential)
class WebAuthnCredentialAdmin(FactorDeviceAdmin):
    list_display = (*FactorDeviceAdmin.list_display, "discoverable", "sign_count")
    extra_fields = ("sign_count", "discoverable", "user_verified_at_registration", "transports")


@admin.register(RecoveryCodeDevice)
class RecoveryCodeDeviceAdmin(FactorDeviceAdmin):
    list_display = (*FactorDeviceAdmin.list_display, "remaining")
    extra_fields = ("remaining",)

    @admin.display(description="unused codes")
    def remaining(self, obj: RecoveryCodeDevice) -> int:
        return obj.remaining()
