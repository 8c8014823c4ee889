"""Template filters for the risk engine's pages in the admin."""

from __future__ import annotations

from django import template
from django.urls import reverse

register = template.Library()


@register.filter
def with_risk_dashboard(app_list: list[dict]) -> list[dict]:
    """Return the admin's app list with the risk dashboard as a row of the risk engine's section.

    The dashboard is a view, not a model, so Django's list leaves it out; listing it here keeps the
    index to one "Risk engine" section. The caller checks the permission to see login events.
    """
    dashboard = {
        "name": "Risk dashboard",
        "object_name": "Dashboard",
        "admin_url": reverse("admin:risk_dashboard"),
        "add_url": None,
        "view_only": True,
    }
    return [{**app, "models": [dashboard, *app["models"]]} if app["app_label"] == "risk" else app for app in app_list]
