"""The provider in the admin: clients (the secret is shown once, at creation, and stored hashed).

django-oauth-toolkit registers ``ClientAdmin`` itself (``OAUTH2_PROVIDER["APPLICATION_ADMIN_CLASS"]``).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext
from oauth2_provider.generators import generate_client_secret

from authsite.oidc.models import Client, Consent


class ClientAdmin(admin.ModelAdmin):
    list_display = ("name", "client_id", "client_type", "policy", "first_party", "created")
    list_filter = ("client_type", "policy", "first_party")
    search_fields = ("name", "client_id")
    readonly_fields = ("client_id", "created", "updated")
    fields = (
        "name",
        "client_id",
        "client_type",
        "redirect_uris",
        "post_logout_redirect_uris",
        "allowed_scopes",
        "policy",
        "first_party",
        "backchannel_logout_uri",
        "created",
        "updated",
    )

    def save_model(self, request, obj: Client, form, change: bool) -> None:
        secret = None
        if not change:
            if obj.client_type == Client.CLIENT_CONFIDENTIAL:
                secret = generate_client_secret()
                obj.client_secret = secret
            else:
                obj.client_secret = ""
        super().save_model(request, obj, form, change)
        if secret is not None:
            messages.warning(
                request,
                gettext(
                    "The client secret of %(client)s is %(secret)s . Copy it now: it is stored hashed and cannot "
                    "be shown again."
                )
                % {"client": obj.name or obj.client_id, "secret": secret},
            )


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    list_display = ("user", "client", "scopes", "created_at", "last_used_at")
    list_select_related = ("user", "client")
    search_fields = ("user__email", "client__name", "client__client_id")
    readonly_fields = ("user", "client", "scopes", "created_at", "last_used_at")

    def has_add_permission(self, request) -> bool:
        return False
