"""Admin for factor devices: view, rename, disable, delete, reset a throttle. Never a secret.

Devices are not added here: enrollment needs the user (a scanned key, a received code, an
authenticator), so it happens through the services only.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from authsite.center.account_admin import account_factor_revoke, factor_locked_until
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
    actions = ("reset_throttle", "revoke")
    extra_fields: tuple[str, ...] = ()

    def get_fields(self, request, obj=None):
        return COMMON + self.extra_fields

    def get_readonly_fields(self, request, obj=None):
        editable = set(EDITABLE)
        if obj is not None and not obj.confirmed:
            # Staff may disable a factor, never confirm one: only its owner proves they hold it.
            editable.discard("confirmed")
        return tuple(f for f in self.get_fields(request, obj) if f not in editable)

    def get_queryset(self, request):
        # Only factors: the internal account-address fallback is not one (EmailDevice.account_fallback).
        return super().get_queryset(request).filter(self.model.factor_filter)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("Reset the failed-attempt throttle"), permissions=("change",))
    def reset_throttle(self, request, queryset) -> None:
        count = queryset.update(throttling_failure_count=0, throttling_failure_timestamp=None)
        self.message_user(request, _("Reset the throttle of %(count)d device(s).") % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Revoke (remove) the selected factors"), permissions=("delete",))
    def revoke(self, request, queryset) -> None:
        count = len(queryset)
        self.delete_queryset(request, queryset)
        self.message_user(
            request, _("Revoked %(count)d factor(s); their owners were signed out and emailed.") % {"count": count}
        )

    # Django's own delete page and "delete selected" go through the same path as "revoke": a
    # factor never disappears without its owner's sessions ending and an email to them.
    def delete_model(self, request, obj) -> None:
        account_factor_revoke(device=obj, by=request.user, request=request)

    def delete_queryset(self, request, queryset) -> None:
        for device in queryset.select_related("user"):
            self.delete_model(request, device)


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

    @admin.display(description=_("unused codes"))
    def remaining(self, obj: RecoveryCodeDevice) -> int:
        return obj.remaining()


# --- Inlines on the user's admin page -----------------------------------------------------------

INLINE_FIELDS = ("name", "confirmed", "preferred", "created_at", "last_used_at", "throttling_failure_count", "locked")


class FactorInline(admin.TabularInline):
    """A user's devices of one kind, read-only, without secrets; "change" opens the device's page,
    where it can be renamed or revoked."""

    extra = 0
    can_delete = False
    show_change_link = True
    # Django's tabular template leaves two column headers empty (axe: empty-table-header).
    template = "admin/factors/factor_inline.html"
    fields = INLINE_FIELDS
    readonly_fields = INLINE_FIELDS
    ordering = ("created_at", "pk")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(self.model.factor_filter)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("locked until"))
    def locked(self, device) -> str:
        until = factor_locked_until(device)
        return f"{until:%Y-%m-%d %H:%M:%S} UTC" if until else "-"


class TOTPInline(FactorInline):
    model = TOTPDevice


class SMSInline(FactorInline):
    model = SMSDevice
    fields = readonly_fields = (*INLINE_FIELDS, "phone_number")


class EmailInline(FactorInline):
    model = EmailDevice
    fields = readonly_fields = (*INLINE_FIELDS, "email")


class WebAuthnInline(FactorInline):
    model = WebAuthnCredential
    fields = readonly_fields = (*INLINE_FIELDS, "discoverable", "sign_count")


class RecoveryInline(FactorInline):
    model = RecoveryCodeDevice
    fields = readonly_fields = (*INLINE_FIELDS, "remaining")

    @admin.display(description=_("unused codes"))
    def remaining(self, obj: RecoveryCodeDevice) -> int:
        return obj.remaining()


FACTOR_INLINES = (TOTPInline, WebAuthnInline, SMSInline, EmailInline, RecoveryInline)
