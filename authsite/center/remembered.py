"""The user's own controls over remembered devices."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from authsite.accounts.reauth import recent_auth_required
from authsite.core import events
from authsite.core.parsing import parse_id
from risk.trust import trusted_devices_revoke


@recent_auth_required
@require_POST
def trusted_device_revoke_view(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("device", "all")
    device_id = parse_id(raw)
    if raw != "all" and device_id is None:
        messages.error(request, _("No such device."))
        return redirect("factors:security")
    count = trusted_devices_revoke(user=request.user, device_id=device_id)
    events.auth_event(request, "authn_trusted_device_revoked", outcome="success", count=count)
    messages.success(
        request,
        _("Forgotten. That device will be checked again at the next sign-in.") if count else _("Nothing to forget."),
    )
    return redirect("factors:security")
