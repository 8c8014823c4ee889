"""Views: parse the request, call one service or flow, respond."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django.views.i18n import set_language

from authsite.accounts import forms, services
from authsite.accounts.language import remember_language
from authsite.accounts.throttle import ThrottleState
from authsite.core import events
from authsite.core.parsing import parse_round_trip_ms
from authsite.login import flow
from authsite.login.facts import LoginFacts
from authsite.login.proof import fresh_sign_in_needed

INVALID_LOGIN = gettext_lazy(
    "That email address and password don't match an active account. If you signed up "
    "recently, confirm your email address first."
)


@require_http_methods(["POST"])
def set_language_view(request: HttpRequest) -> HttpResponse:
    """Switch the language (Django's ``set_language``: a cookie, back to ``next``); a signed-in
    account also stores it, for the emails and texts sent to it later."""
    response = set_language(request)
    if request.user.is_authenticated:
        remember_language(request.user, request.POST.get("language"))
    return response


def safe_redirect_target(request: HttpRequest, candidate: str) -> str:
    """Return ``candidate`` if it points into this site, otherwise an empty string."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def safe_next_url(request: HttpRequest) -> str:
    """Return the request's ``next`` parameter if it points into this site, otherwise ""."""
    return safe_redirect_target(request, request.POST.get("next") or request.GET.get("next") or "")


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = safe_next_url(request)
    # A signed-in user is sent on, unless an application asked for a newer sign-in than theirs.
    if request.user.is_authenticated and request.method == "GET" and not fresh_sign_in_needed(request, next_url):
        return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    form = forms.LoginForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        check = services.login_check_password(
            request, email=form.cleaned_data["email"], password=form.cleaned_data["password"]
        )
        if check.throttle.state is ThrottleState.THROTTLED:
            response = render(request, "429.html", {"minutes": max(1, check.throttle.retry_after // 60)}, status=429)
            response["Retry-After"] = str(check.throttle.retry_after)
            return response
        if check.user is not None:
            facts = LoginFacts(
                throttle_unavailable=check.throttle.state is ThrottleState.UNAVAILABLE,
                round_trip_ms=parse_round_trip_ms(request.POST.get("rtt_ms")),
            )
            return flow.login_begin(
                request, user=check.user, backend=check.user.backend, next_url=next_url, facts=facts
            )
        form.add_error(None, INVALID_LOGIN)
    return render(request, "registration/login.html", {"form": form, "next": next_url}, status=status)


@never_cache
@require_http_methods(["GET", "HEAD"])
def login_rtt_probe_view(request: HttpRequest) -> HttpResponse:
    """Answer the sign-in page's timing requests: empty, never cached (docs/risk-model.md, "Round-trip time")."""
    return HttpResponse(status=204)


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def signup_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = forms.SignupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.account_signup(request, email=form.cleaned_data["email"], password=form.cleaned_data["password"])
        return redirect("signup_done")
    return render(request, "registration/signup.html", {"form": form})


def signup_done_view(request: HttpRequest) -> HttpResponse:
    return render(request, "registration/signup_done.html")


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def activate_view(request: HttpRequest, token: str) -> HttpResponse:
    link = services.account_activation_check(token)
    if link.user is None:
        return render(request, "registration/activate_invalid.html", {"problem": link.problem.value}, status=400)
    user = link.user
    form = forms.ActivateForm(request.POST if request.method == "POST" else None, user=user)
    if form.is_valid():
        services.account_activate(request, user=user)
        messages.success(request, _("Your email address is confirmed. You can sign in now."))
        return redirect("login")
    if form.is_bound:
        events.auth_event(request, events.ACTIVATION_FAIL, outcome="wrong_password", user_id=user.pk)
    return render(request, "registration/activate.html", {"email": user.email, "form": form})


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        user_id = request.user.pk if request.user.is_authenticated else None
        response = super().post(request, *args, **kwargs)
        if user_id is not None:
            events.auth_event(request, events.LOGOUT, outcome="success", user_id=user_id)
        messages.info(request, _("You have signed out."))
        return response


# Django's view keeps the passwords out of error reports but lets the page be cached: a page that
# takes a password must never be stored by a browser or a proxy.
@method_decorator(never_cache, name="dispatch")
class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = forms.PasswordChangeForm
    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form):
        # super() keeps this session signed in (update_session_auth_hash); every other session of
        # the user stored the old password hash and ends on its next request.
        response = super().form_valid(form)
        events.auth_event(self.request, events.PASSWORD_CHANGE, outcome="success", user_id=form.user.pk)
        services.notify_password_changed(self.request, user=form.user, how="changed")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    form_class = forms.PasswordResetForm

    def form_valid(self, form):
        # Not Django's form.save(), which sends the email inside the request and only for an
        # existing account: the time that takes would tell who has one.
        services.account_password_reset_request(self.request, email=form.cleaned_data["email"])
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = forms.SetPasswordForm
    # No sign-in after a reset: signing in again goes through every stage, second factor included.
    post_reset_login = False

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not context.get("validlink"):
            context["link_malformed"] = not services.password_reset_link_is_well_formed(
                uidb64=self.kwargs.get("uidb64", ""), token=self.kwargs.get("token", "")
            )
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        events.auth_event(self.request, events.PASSWORD_RESET, outcome="success", user_id=form.user.pk)
        services.notify_password_changed(self.request, user=form.user, how="reset")
        return response


@login_required
def password_change_done_view(request: HttpRequest) -> HttpResponse:
    return render(request, "registration/password_change_done.html")


@sensitive_post_parameters("password")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def reauthenticate_view(request: HttpRequest) -> HttpResponse:
    next_url = safe_next_url(request) or resolve_url("factors:security")
    form = forms.ReauthenticateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        check = services.account_reauthenticate(request, password=form.cleaned_data["password"])
        if check.throttle.state is ThrottleState.THROTTLED:
            minutes = max(1, check.throttle.retry_after // 60)
            return render(request, "429.html", {"minutes": minutes}, status=429)
        if check.user is not None:
            return redirect(next_url)
        form.add_error("password", _("That password is not right."))
    return render(request, "registration/reauthenticate.html", {"form": form, "next": next_url})


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 handler: a database outage answers 503 with Retry-After, anything else 500.

    A restarting PostgreSQL is a temporary condition: clients and load balancers should retry,
    and people see "try again in a moment" rather than an error page. No traceback either way.
    """
    import sys

    from django.db import DatabaseError, InterfaceError, OperationalError
    from django.template import loader

    exc = sys.exc_info()[1]
    if isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DatabaseError) and "connection" in str(exc).lower()
    ):
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
        response["Retry-After"] = "5"
        return response
    return HttpResponse(loader.get_template("500.html").render(), status=500)
