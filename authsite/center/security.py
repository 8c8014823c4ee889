"""The Security page: the user's factors, remembered devices, sessions and apps on one page.

It shows what four apps keep (factors, the risk engine's remembered devices, the accounts'
sessions, the OpenID Connect provider's apps), so it lives here rather than in any one of them. Its URL name stays
``factors:security`` (see authsite/urls.py), so every link to it keeps working.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from authsite.center.activity import session_rows
from authsite.oidc.services import allowed_apps, app_revoke
from factors import services
from factors.forms import RenameForm
from factors.models import RecoveryCodeDevice
from factors.registry import Requirement, factor_type, satisfies
from risk.trust import trusted_devices_of


@never_cache
@login_required
@require_GET
def security_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    devices = services.user_factors(user)
    recovery = next((d for d in devices if isinstance(d, RecoveryCodeDevice)), None)
    factors = [d for d in devices if not isinstance(d, RecoveryCodeDevice)]
    return render(
        request,
        "factors/security.html",
        {
            "factors": [(d, factor_type(d)) for d in factors],
            "recovery": recovery,
            "recovery_left": services.recovery_codes_remaining(user=user) if recovery else 0,
            "has_strong": any(satisfies(d, Requirement.STRONG) for d in factors),
            "rename_form": RenameForm(),
            "remembered": trusted_devices_of(user),
            "sessions": session_rows(user=user, current_session_key=request.session.session_key),
            "apps": allowed_apps(user),
        },
    )


@never_cache
@login_required
@require_POST
def app_revoke_view(request: HttpRequest) -> HttpResponse:
    """Withdraw an application's access: its tokens end and it must ask again."""
    client_id = request.POST.get("client_id", "")[:255]
    if app_revoke(request, user=request.user, client_id=client_id):
        messages.success(request, gettext("That app can no longer use your account. Its sign-in has ended."))
    else:
        messages.error(request, gettext("That app isn't on your list any more."))
    return redirect(reverse("factors:security") + "#apps")
