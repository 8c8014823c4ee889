"""The admin site: staff need an OTP-verified session (MFA_REQUIRED_FOR_STAFF)."""

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
            is_verified = getattr(request.user, "is_verified", None)
            return bool(is_verified and is_verified())
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
        """Sign in through the staged login; explain when a signed-in user lacks a verified factor."""
        next_url = request.GET.get("next") or reverse("admin:index")
        if not request.user.is_authenticated:
            return redirect(f"{reverse(settings.LOGIN_URL)}?{urlencode({'next': next_url})}")
        return render(
            request,
            "admin_mfa_required.html",
            {"is_staff": request.user.is_staff},
            status=403,
        )
