from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class CenterConfig(AppConfig):
    """Pages that show several apps at once: the Security page, activity, the admin's user page."""

    name = "authsite.center"
    label = "center"
    verbose_name = _("Security center")


class MfaAdminConfig(AdminConfig):
    """Django's admin, served by a site that demands a second factor from staff."""

    default_site = "authsite.center.admin_site.MfaAdminSite"
