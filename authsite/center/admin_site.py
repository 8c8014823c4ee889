"""The admin site: staff need a session verified with an app, passkey or security key (MFA_REQUIRED_FOR_STAFF)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse


class MfaAdminSite(admin.AdminSite):
    site_header = "Adaptive MFA administration"
    site_title = "Adaptive MFA admin"

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        if settings.MFA_REQUIRED_FOR_STAFF:
            # An email or text code does not count (factors.stepup.STAFF_STRENGTH).
            from factors.stepup import staff_session_verified

            return staff_session_verified(request)
        return True

    def get_urls(self):
        from django.urls import path

        return [
            path("risk/dashboard/", self.admin_view(self.risk_dashboard_view), name="risk_dashboard"),
            *super().get_urls(),
        ]

    def risk_dashboard_view(self, request: HttpRequest) -> HttpResponse:
        """Show sign-in decisions, challenge rate, reasons, countries and scores of the last days."""
        from risk.dashboard import dashboard_context, parse_days

        # It summarises every sign-in of every user: for staff who may see login events.
        if not request.user.has_perm("risk.view_loginevent"):
            raise PermissionDenied
        context = {
            **self.each_context(request),
            "title": "Risk dashboard",
            **dashboard_context(days=parse_days(request.GET.get("days"))),
        }
        return render(request, "admin/risk_dashboard.html", context)

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """Sign in through the staged login; then, for staff, pass a strong enough factor here.

        Staff whose session did not pass an app, passkey or security key go to the step-up page
        with those factors; staff without one are told to add one first.
        """
        from authsite.accounts.views import safe_next_url
        from factors.stepup import staff_factors

        next_url = safe_next_url(request) or reverse("admin:index")
        if not request.user.is_authenticated:
            return redirect(f"{reverse(settings.LOGIN_URL)}?{urlencode({'next': next_url})}")
        if self.has_permission(request):
            return redirect(next_url)
        staff = request.user.is_active and request.user.is_staff
        if staff and staff_factors(request.user):
            return redirect(f"{reverse('factors:stepup_admin')}?{urlencode({'next': next_url})}")
        return render(request, "admin_mfa_required.html", {"is_staff": staff}, status=403)
