"""Admin for users. Admins never type a user's password; they send a reset link (OWASP ASVS 6.4.6).

A user's factors show inline, read-only and without secrets; the actions call the services in
``authsite.center.account_admin``.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.template.response import TemplateResponse
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _

from authsite.accounts.models import User, normalize_email_address
from authsite.center import account_admin
from factors.admin import FACTOR_INLINES


class AdminUserAddForm(forms.ModelForm):
    """Create an account with an unusable password; its owner sets one through a reset link."""

    class Meta:
        model = User
        fields = ("email", "first_name", "last_name")

    def clean_email(self) -> str:
        email = normalize_email_address(self.cleaned_data["email"])
        if User.objects.get_by_email(email) is not None:
            raise forms.ValidationError(_("An account with this email address already exists."))
        return email

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.set_unusable_password()
        if commit:
            user.save()
        return user


class AdminUserChangeForm(forms.ModelForm):
    """The change form without Django's password hash field and its "change password" link.

    The email address is not editable: it is what the account proved it reads (activation), where
    email codes and reset links go, and an admin edit would keep the old address's email-code
    device and the "verified" date while nobody has confirmed the new one.
    """

    class Meta:
        model = User
        fields = (
            "first_name",
            "last_name",
            "is_active",
            "is_staff",
            "is_superuser",
            "groups",
            "user_permissions",
        )


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    # Narrow enough to show whole at 1280 px beside both sidebars.
    list_display = ("email", "name", "is_active", "is_staff", "last_sign_in", "must_enroll")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email",)}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined", "email_verified_at")}),
        ("Sign-in methods", {"fields": ("mfa_enrol_required_at",)}),
    )
    form = AdminUserChangeForm
    add_form = AdminUserAddForm
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "first_name", "last_name"),
                "description": "The new user gets an email with a link to choose their password.",
            },
        ),
    )
    # The enrollment flag is set only by the actions (which log who did it) and cleared only by the
    # user confirming a new factor, so the form cannot change it.
    readonly_fields = ("last_login", "date_joined", "email_verified_at", "mfa_enrol_required_at")
    inlines = FACTOR_INLINES
    actions = ("reset_mfa", "require_enrollment", "clear_throttles", "send_password_reset")

    @admin.display(boolean=True, description=_("Must add a factor"), ordering="mfa_enrol_required_at")
    def must_enroll(self, obj: User) -> bool:
        return obj.mfa_enrol_required_at is not None

    @admin.display(description=_("Name"), ordering="last_name")
    def name(self, obj: User) -> str:
        return obj.get_full_name()

    @admin.display(description=_("Last sign-in"), ordering="last_login")
    def last_sign_in(self, obj: User) -> str:
        return date_format(localtime(obj.last_login), "Y-m-d H:i") if obj.last_login else "-"

    def get_urls(self):
        # Drop UserAdmin's "change password" page: admins never set someone's password.
        return admin.ModelAdmin.get_urls(self)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if obj is None else ("email", *fields)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change:
            return
        if account_admin.account_password_reset_send(request=request, user=obj, by=request.user):
            self.message_user(
                request, _("Sent %(email)s a link to choose a password.") % {"email": obj.email}, messages.SUCCESS
            )
        else:
            self.message_user(
                request,
                _(
                    "Could not send %(email)s a link to choose a password; the account was created. "
                    'Send the link again with the "Send a password reset link" action.'
                )
                % {"email": obj.email},
                messages.ERROR,
            )

    @admin.action(
        description=_("Reset MFA: remove all factors and remembered devices, sign out everywhere"),
        permissions=("change",),
    )
    def reset_mfa(self, request, queryset) -> TemplateResponse | None:
        # Like "delete selected": an intermediate page first, because this cannot be undone.
        if request.POST.get("post") != "yes":
            users = list(queryset)
            for user in users:
                user.factor_count = len(account_admin.account_mfa_status(user=user, events_limit=0)["factors"])
            return TemplateResponse(
                request,
                "admin/accounts/user/reset_mfa_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Reset MFA"),
                    "opts": self.model._meta,
                    "queryset": users,
                    "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                },
            )
        for user in queryset:
            result = account_admin.account_mfa_reset(user=user, by=request.user, request=request)
            self.message_user(
                request,
                (
                    _(
                        "%(email)s: removed %(factors)d factor(s), forgot %(devices)d remembered device(s), "
                        "ended %(sessions)d session(s); emailed the user."
                    )
                    if result.emailed
                    else _(
                        "%(email)s: removed %(factors)d factor(s), forgot %(devices)d remembered device(s), "
                        "ended %(sessions)d session(s); the email could not be sent."
                    )
                )
                % {
                    "email": user.email,
                    "factors": result.factors_removed,
                    "devices": result.devices_revoked,
                    "sessions": result.sessions_ended,
                },
                messages.SUCCESS if result.emailed else messages.WARNING,
            )
        return None

    @admin.action(
        description=_("Require a new sign-in method at next sign-in (keeps factors and sessions)"),
        permissions=("change",),
    )
    def require_enrollment(self, request, queryset) -> None:
        for user in queryset:
            if account_admin.account_mfa_enroll_require(user=user, by=request.user, request=request):
                self.message_user(
                    request,
                    _("%(email)s must set up a new sign-in method at their next sign-in.") % {"email": user.email},
                    messages.SUCCESS,
                )
            else:
                self.message_user(
                    request, _("%(email)s already had to set up a new sign-in method.") % {"email": user.email}
                )

    @admin.action(
        description=_("Clear sign-in throttles (factor failures and password failures)"), permissions=("change",)
    )
    def clear_throttles(self, request, queryset) -> None:
        for user in queryset:
            count = account_admin.account_throttles_clear(user=user, by=request.user, request=request)
            self.message_user(
                request,
                _("%(email)s: cleared the throttles (%(count)d device(s) had failures).")
                % {"email": user.email, "count": count},
            )

    @admin.action(description=_("Send a password reset link"), permissions=("change",))
    def send_password_reset(self, request, queryset) -> None:
        for user in queryset:
            if account_admin.account_password_reset_send(request=request, user=user, by=request.user):
                self.message_user(
                    request, _("Sent a password reset link to %(email)s.") % {"email": user.email}, messages.SUCCESS
                )
            elif not user.is_active:
                self.message_user(
                    request, _("%(email)s is inactive: no link sent.") % {"email": user.email}, messages.WARNING
                )
            else:
                self.message_user(
                    request,
                    _("Could not send a password reset link to %(email)s: the email failed.") % {"email": user.email},
                    messages.ERROR,
                )
