"""What the Security page does: adding, renaming and removing factors, recovery codes (the page
itself, which also shows remembered devices and sessions, is authsite.center.security).

Every change needs a recent re-authentication (``recent_auth_required``), ends the user's other
sessions when the factor set changes, and is emailed to the user.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login

from authsite.accounts.reauth import recent_auth_required
from authsite.core import events
from authsite.core.clientip import client_ip
from authsite.core.text import StrOrPromise
from factors import services, webauthn
from factors.forms import CodeForm, DeviceForm, PhoneForm, RenameForm
from factors.models import EmailDevice, SMSDevice, TOTPDevice
from factors.notify import notify_factor_change
from factors.registry import factor_type
from factors.stepup import factor_reauth_mark, reauth_level
from factors.views.adding import (
    TOTP_ADDED,
    TOTP_CODE_LABEL,
    TOTP_RESTART,
    end_other_sessions,
    factor_added,
    totp_setup_page,
    unconfirmed_device_of,
    webauthn_added,
    webauthn_register,
)
from factors.views.codes import send_message, verify_message
from factors.views.common import json_body

REGISTER_STATE = "factors_webauthn_register"
TOTP_ENROLL = "factors_totp_enroll"
CODE_ENROLL = "factors_code_enroll"


@never_cache
@login_required
@require_GET
def setup_view(request: HttpRequest) -> HttpResponse:
    return render(request, "factors/setup.html")


def _unconfirmed_device(request: HttpRequest, session_key: str, models: tuple):
    """Return the device being enrolled in this session, if it is still the user's and unconfirmed."""
    return unconfirmed_device_of(request.user, request.session.get(session_key, ""), models)


def _enrolled(request: HttpRequest, device, what: StrOrPromise) -> None:
    """After a new factor is active: verify this session with it, log, and tell the user by email."""
    otp_login(request, device)
    factor_reauth_mark(request.session, reauth_level(device))
    factor_added(request, request.user, device, what)


@never_cache
@recent_auth_required
@require_POST
def totp_begin(request: HttpRequest) -> HttpResponse:
    enrollment = services.factor_enroll_totp_begin(user=request.user)
    request.session[TOTP_ENROLL] = enrollment.device.persistent_id
    return redirect("factors:totp_confirm")


@never_cache
@recent_auth_required
@require_http_methods(["GET", "POST"])
def totp_confirm(request: HttpRequest) -> HttpResponse:
    device = _unconfirmed_device(request, TOTP_ENROLL, (TOTPDevice,))
    if device is None:
        messages.info(request, _("Start again: add an authenticator app."))
        return redirect("factors:security")
    form = CodeForm(request.POST if request.method == "POST" else None, label=TOTP_CODE_LABEL)
    if request.method == "POST" and form.is_valid():
        result = services.factor_enroll_totp_confirm(
            user=request.user, device_id=device.persistent_id, token=form.cleaned_data["code"]
        )
        if result.ok:
            request.session.pop(TOTP_ENROLL, None)
            _enrolled(request, result.device, TOTP_ADDED)
            messages.success(request, _("Your authenticator app is ready."))
            return redirect("factors:security")
        if result.status is services.VerifyStatus.RESTART:
            request.session.pop(TOTP_ENROLL, None)
            messages.error(request, TOTP_RESTART)
            return redirect("factors:security")
        form.add_error("code", verify_message(result, other_ways=False))
    return totp_setup_page(request, device, form, cancel_url=reverse("factors:security"))


@never_cache
@recent_auth_required
@require_POST
def email_begin(request: HttpRequest) -> HttpResponse:
    device = services.factor_email_enroll_begin(user=request.user)
    return _enroll_send(request, device, email=True)


@never_cache
@recent_auth_required
@require_http_methods(["GET", "POST"])
def sms_begin(request: HttpRequest) -> HttpResponse:
    form = PhoneForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.factor_sms_enroll_begin(user=request.user, phone_number=form.cleaned_data["phone_number"])
        except ValueError as exc:
            form.add_error("phone_number", str(exc))
        else:
            return _enroll_send(request, device, email=False)
    return render(request, "factors/sms_add.html", {"form": form})


def _enroll_send(request: HttpRequest, device, *, email: bool) -> HttpResponse:
    bind = services.enrollment_bind(device)
    result = services.factor_send_code(
        user=request.user, device_id=device.persistent_id, bind=bind, client_ip=client_ip(request)
    )
    request.session[CODE_ENROLL] = device.persistent_id
    if result.sent:
        messages.success(request, _("We sent a code to %(destination)s.") % {"destination": result.destination})
    else:
        messages.error(request, send_message(result, email=email, other_ways=False))
    return redirect("factors:code_confirm")


@never_cache
@recent_auth_required
@require_http_methods(["GET", "POST"])
def code_confirm(request: HttpRequest) -> HttpResponse:
    device = _unconfirmed_device(request, CODE_ENROLL, (EmailDevice, SMSDevice))
    if device is None:
        return redirect("factors:security")
    email = isinstance(device, EmailDevice)
    form = CodeForm(request.POST if request.method == "POST" else None, label=_("6-digit code"))
    if request.method == "POST" and request.POST.get("action") == "resend":
        return _enroll_send(request, device, email=email)
    if request.method == "POST" and form.is_valid():
        result = services.factor_enroll_code_confirm(
            user=request.user, device_id=device.persistent_id, code=form.cleaned_data["code"]
        )
        if result.ok:
            request.session.pop(CODE_ENROLL, None)
            what = (
                _("Email codes were added as a way to sign in.")
                if email
                else _("Text messages to %(number)s were added as a way to sign in.")
                % {"number": device.masked_destination()}
            )
            _enrolled(request, result.device, what)
            messages.success(request, _("Done. You can use it the next time you sign in."))
            return redirect("factors:security")
        if result.status is services.VerifyStatus.RESTART:
            request.session.pop(CODE_ENROLL, None)
            messages.error(
                request,
                _("Too many wrong codes. Start again: add email codes to get a new code.")
                if email
                else _("Too many wrong codes. Start again: add the phone to get a new code."),
            )
            return redirect("factors:security")
        form.add_error("code", verify_message(result, other_ways=False))
    return render(
        request,
        "factors/code_confirm.html",
        {"form": form, "destination": device.masked_destination(), "email": email},
    )


@never_cache
@recent_auth_required
@require_POST
def recovery_generate(request: HttpRequest) -> HttpResponse:
    codes = services.factor_recovery_codes_generate(user=request.user)
    events.auth_event(request, events.MFA_CHANGED, outcome="recovery_codes_generated")
    end_other_sessions(request)
    notify_factor_change(
        request,
        user=request.user,
        subject=gettext_lazy("new recovery codes"),
        what=gettext_lazy("New recovery codes were made; the old ones no longer work."),
    )
    # Shown once, in this response only: they are stored hashed.
    return render(request, "factors/recovery_codes.html", {"codes": codes, "codes_text": "\n".join(codes)})


def _change_factor(request: HttpRequest, form, change, done, invalid: str) -> HttpResponse:
    """Apply one change from a form of the security page and report it there.

    ``change(cleaned_data)`` calls the service, which raises ValueError with a message for the
    user; ``done(device)`` records, notifies and says what happened; ``invalid`` is shown for a
    form that does not validate.
    """
    if not form.is_valid():
        messages.error(request, invalid)
    else:
        try:
            device = change(form.cleaned_data)
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            done(device)
    return redirect("factors:security")


@never_cache
@recent_auth_required
@require_POST
def factor_rename_view(request: HttpRequest) -> HttpResponse:
    def done(device) -> None:
        events.auth_event(request, events.MFA_CHANGED, outcome="renamed", factor=device.factor_kind)
        notify_factor_change(
            request,
            user=request.user,
            subject=gettext_lazy("a sign-in method was renamed"),
            what=_("A sign-in method was renamed to “%(name)s”.") % {"name": device.name},
        )
        messages.success(request, _("Renamed."))

    return _change_factor(
        request,
        RenameForm(request.POST),
        lambda data: services.factor_rename(user=request.user, device_id=data["device"], name=data["name"]),
        done,
        _("Enter a name of up to 64 characters."),
    )


@never_cache
@recent_auth_required
@require_POST
def factor_remove_view(request: HttpRequest) -> HttpResponse:
    def done(device) -> None:
        events.auth_event(request, events.MFA_REMOVED, outcome="success", factor=device.factor_kind)
        end_other_sessions(request)
        notify_factor_change(
            request,
            user=request.user,
            subject=gettext_lazy("a sign-in method was removed"),
            what=_("%(kind)s “%(name)s” was removed from your account.")
            % {"kind": factor_type(device).label, "name": device.name},
        )
        messages.success(request, _("Removed “%(name)s”.") % {"name": device.name})

    return _change_factor(
        request,
        DeviceForm(request.POST),
        lambda data: services.factor_remove(user=request.user, device_id=data["device"]),
        done,
        _(services.NO_SUCH_DEVICE),
    )


@never_cache
@recent_auth_required
@require_POST
def factor_preferred_view(request: HttpRequest) -> HttpResponse:
    return _change_factor(
        request,
        DeviceForm(request.POST),
        lambda data: services.factor_set_preferred(user=request.user, device_id=data["device"]),
        lambda device: messages.success(
            request, _("“%(name)s” will be offered first when you sign in.") % {"name": device.name}
        ),
        _(services.NO_SUCH_DEVICE),
    )


@never_cache
@recent_auth_required
@require_POST
def webauthn_register_begin(request: HttpRequest) -> JsonResponse:
    body = json_body(request) or {}
    passkey = bool(body.get("passkey", True))
    options, state = webauthn.register_begin(user=request.user, passkey=passkey)
    request.session[REGISTER_STATE] = state
    return JsonResponse(options)


@never_cache
@recent_auth_required
@require_POST
def webauthn_register_complete(request: HttpRequest) -> JsonResponse:
    state = request.session.pop(REGISTER_STATE, None)
    credential = webauthn_register(request, request.user, state)
    if isinstance(credential, JsonResponse):
        return credential
    _enrolled(request, credential, webauthn_added(credential))
    messages.success(
        request,
        (
            _("Your passkey “%(name)s” is ready.")
            if credential.discoverable
            else _("Your security key “%(name)s” is ready.")
        )
        % {"name": credential.name},
    )
    return JsonResponse({"redirect": reverse("factors:security")})
