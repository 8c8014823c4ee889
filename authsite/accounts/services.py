"""Account services: sign-up, activation, and the password step of sign-in."""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.contrib.auth.views import PasswordResetConfirmView
from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlsafe_base64_decode
from django.utils.translation import gettext_lazy as _

from authsite.accounts.caps import cap_take
from authsite.accounts.language import in_user_language
from authsite.accounts.models import User, email_fold, normalize_email_address, normalize_password
from authsite.accounts.reauth import reauth_mark
from authsite.accounts.throttle import (
    ThrottleState,
    ThrottleVerdict,
    account_key,
    login_throttle_check,
    login_throttle_record_failure,
    login_throttle_record_success,
)
from authsite.accounts.tokens import ACTIVATION_SALT, activation_state
from authsite.core import clock, events
from authsite.core.clientip import client_ip, ip_rate_key
from authsite.core.links import absolute_url
from authsite.core.text import StrOrPromise
from authsite.login.listeners import notify_password_failed

logger = logging.getLogger("authsite.notifications")


def send_templated_email(
    *, to: str, subject: StrOrPromise, template: str, context: dict, link: str = "", link_name: str = "", user=None
) -> bool:
    """Render ``template`` and hand it to the email task; return whether it was sent.

    ``user`` is the account written to: the subject (give it lazily, ``gettext_lazy``) and the
    body are rendered in its stored language, else in the request's (``in_user_language``), so an
    email an admin's action or a sign-in from another browser sends reads as the owner expects.

    A single-use link (``link``, a kind of ``authsite.accounts.tasks.single_use_link``, for ``user``) is
    made by the task as it sends, and the template shows it as ``link_name``: a token never
    waits in the queue.

    A notification must never slow down or break a sign-in: a failure is logged (without the
    message body, which may hold a link) and the caller goes on.
    """
    from django.tasks import TaskResultStatus

    from authsite.accounts.tasks import LINK_MARK, send_email

    if link:
        context = {**context, link_name: LINK_MARK}
    with in_user_language(user):
        body = render_to_string(template, {"site_name": settings.SITE_NAME, **context})
        subject = f"{settings.SITE_NAME}: {subject}"
    extra = {"link": link, "user_id": user.pk} if link else {}
    try:
        result = send_email.enqueue(to=to, subject=subject, body=body, **extra)
    except Exception:
        logger.exception("notification could not be queued", extra={"event": "notification_failed"})
        return False
    if result.status is TaskResultStatus.FAILED:
        error = result.errors[-1].exception_class_path if result.errors else "unknown"
        logger.error("notification failed", extra={"event": "notification_failed", "error": error})
        return False
    return True


class LinkProblem(enum.Enum):
    """Why an emailed link does not work, in the words the page uses."""

    MALFORMED = "malformed"  # cut short or altered: not a link we sent
    EXPIRED = "expired"
    USED = "used"  # already used, or replaced by a newer one


@dataclass(frozen=True)
class ActivationLink:
    user: User | None
    problem: LinkProblem | None = None


def account_activation_check(token: str) -> ActivationLink:
    """Return the inactive user a valid activation ``token`` activates, or why it does not."""
    try:
        data = signing.loads(token, salt=ACTIVATION_SALT, max_age=settings.ACCOUNT_ACTIVATION_TIMEOUT)
    except signing.SignatureExpired:
        return ActivationLink(None, LinkProblem.EXPIRED)
    except signing.BadSignature:
        return ActivationLink(None, LinkProblem.MALFORMED)
    if not isinstance(data, dict):
        return ActivationLink(None, LinkProblem.MALFORMED)
    user = User.objects.filter(pk=data.get("u"), is_active=False, email_verified_at__isnull=True).first()
    if user is None or not signing.constant_time_compare(data.get("s", ""), activation_state(user)):
        return ActivationLink(None, LinkProblem.USED)
    return ActivationLink(user)


# Django's reset token: a base-36 timestamp, "-", then 32 hex digits (PasswordResetTokenGenerator).
_RESET_TOKEN_RE = re.compile(r"[0-9a-z]{1,13}-[0-9a-f]{32}")


def password_reset_link_is_well_formed(*, uidb64: str, token: str) -> bool:
    """Say whether a reset link's parts have the shape of one we send (not whether it is valid).

    A link cut short, typically where a mail program wrapped it, is told apart from one that
    expired or was used.
    """
    try:
        int(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, TypeError, UnicodeDecodeError):
        return False
    return token == PasswordResetConfirmView.reset_url_token or bool(_RESET_TOKEN_RE.fullmatch(token))


def account_activate(request: HttpRequest, *, user: User) -> None:
    """Activate ``user`` after they proved they read mail at their address."""
    user.is_active = True
    user.email_verified_at = clock.now()
    user.save(update_fields=["is_active", "email_verified_at"])
    events.auth_event(request, events.ACTIVATED, outcome="success", user_id=user.pk)


def account_email_allowed(request: HttpRequest, *, address: str, kind: str) -> bool:
    """Count one account email to ``address`` against ``ACCOUNT_EMAIL_CAPS``; False when capped.

    Counted whether or not the address has an account, so the caps reveal nothing; a capped
    request is logged and answered like any other. Fails closed: without the cache, no email.
    """
    scopes = {"address": email_fold(address), "ip": ip_rate_key(client_ip(request))}
    if cap_take(scopes, caps=settings.ACCOUNT_EMAIL_CAPS, channel="account-email", now=clock.now()):
        return True
    events.auth_event(request, events.EMAIL_CAPPED, outcome="capped", kind=kind, level=logging.WARNING)
    return False


def account_signup(request: HttpRequest, *, email: str, password: str) -> None:
    """Register ``email``, or tell its owner by mail that the account already exists.

    Both branches hash a password and queue one email, and the caller answers both the same way,
    so sign-up does not reveal which addresses have accounts (OWASP ASVS 6.3.8). Over the email
    caps nothing is written or sent, and the answer is the same too.
    """
    email = normalize_email_address(email)
    if not account_email_allowed(request, address=email, kind="signup"):
        make_password(password)  # same work as the other branches
        return
    with transaction.atomic():
        found = User.objects.get_by_email(email)
        user = User.objects.select_for_update().filter(pk=found.pk).first() if found is not None else None
        if user is not None and (user.is_active or user.email_verified_at is not None):
            make_password(password)  # same work as the other branch
            send_templated_email(
                to=user.email,
                subject=_("you already have an account"),
                user=user,
                template="emails/signup_exists.txt",
                context={
                    "login_url": absolute_url(reverse("login")),
                    "reset_url": absolute_url(reverse("password_reset")),
                },
            )
            events.auth_event(request, events.SIGNUP_ATTEMPT, outcome="exists", user_id=user.pk)
            return
        if user is None:
            try:
                with transaction.atomic():
                    user = User.objects.create_user(email=email, password=password, is_active=False)
            except IntegrityError:
                # Signed up twice at the same moment: the other request created it.
                return
        else:
            # Never activated: whoever holds the mailbox decides, with the newest password.
            user.set_password(password)
            user.save(update_fields=["password"])
        send_templated_email(
            to=user.email,
            subject=_("confirm your email address"),
            template="emails/activate.txt",
            context={"hours": settings.ACCOUNT_ACTIVATION_TIMEOUT // 3600},
            link="activate",
            link_name="activate_url",
            user=user,
        )
        events.auth_event(request, events.SIGNUP, outcome="pending_activation", user_id=user.pk)


def account_password_reset_request(request: HttpRequest, *, email: str) -> None:
    """Queue a password reset email for ``email``, whether or not it names an account.

    The request's work is the same for every address (count the caps, queue one task); the task
    looks the account up and sends the link (``authsite.accounts.tasks.send_password_reset``). With the
    database task backend nothing here depends on the account existing; with the immediate one
    the task runs in the request, and sending the email takes the time it takes.
    """
    events.auth_event(request, events.PASSWORD_RESET_REQUEST, outcome="requested")
    if not account_email_allowed(request, address=email, kind="password_reset"):
        return
    from authsite.accounts.tasks import send_password_reset

    try:
        send_password_reset.enqueue(address=normalize_email_address(email), language=translation.get_language())
    except Exception:
        logger.exception("password reset could not be queued", extra={"event": "notification_failed"})


@dataclass(frozen=True)
class PasswordCheck:
    user: User | None
    throttle: ThrottleVerdict


def login_check_password(request: HttpRequest, *, email: str, password: str) -> PasswordCheck:
    """Check a password attempt, counting failures; the caller starts the staged login on success.

    Unknown and known accounts take the same path: one lookup, and ModelBackend hashes the
    password once even for an unknown user (Django #20760). The account counter is keyed by what
    the address resolves to, so every spelling of one account shares one counter.
    """
    ip = client_ip(request)
    resolved = User.objects.get_by_email(email)
    account = account_key(user_id=resolved.pk if resolved else None, email=email)
    verdict = login_throttle_check(account=account, ip=ip)
    if verdict.state is ThrottleState.THROTTLED:
        events.auth_event(request, events.LOGIN_FAIL_MAX, outcome="throttled", scope=verdict.scope)
        return PasswordCheck(None, verdict)
    if verdict.state is ThrottleState.UNAVAILABLE:
        events.auth_event(request, events.THROTTLE_UNAVAILABLE, outcome="degraded")
    username = resolved.email if resolved else email_fold(email)
    user = authenticate(request, username=username, password=password)
    if resolved is None and normalize_password(password) != password:
        # An account checks such a password twice (normalised, then as typed for a hash made
        # before normalisation, User.check_password); an unknown address costs the same.
        make_password(password)
    if user is None:
        login_throttle_record_failure(account=account, ip=ip)
        notify_password_failed(request, username=username)
        events.auth_event(request, events.LOGIN_FAIL, outcome="failure")
        return PasswordCheck(None, verdict)
    login_throttle_record_success(account=account)
    return PasswordCheck(user, verdict)


def account_reauthenticate(request: HttpRequest, *, password: str) -> PasswordCheck:
    """Check the signed-in user's password again before a sensitive change, with throttling."""
    user = request.user
    account = account_key(user_id=user.pk)
    verdict = login_throttle_check(account=account, ip=client_ip(request))
    if verdict.state is ThrottleState.THROTTLED:
        events.auth_event(request, events.LOGIN_FAIL_MAX, outcome="throttled", scope=verdict.scope)
        return PasswordCheck(None, verdict)
    if not user.check_password(password):
        login_throttle_record_failure(account=account, ip=client_ip(request))
        events.auth_event(request, events.REAUTH, outcome="failure")
        return PasswordCheck(None, verdict)
    reauth_mark(request)
    events.auth_event(request, events.REAUTH, outcome="success")
    return PasswordCheck(user, verdict)


def notify_password_changed(request: HttpRequest, *, user: User, how: str) -> None:
    """Tell ``user`` by email that their password was changed or reset, when and from where."""
    from authsite.core.ua import parse_ua

    ua = parse_ua(request.META.get("HTTP_USER_AGENT", ""))
    send_templated_email(
        to=user.email,
        subject=_("your password was reset") if how == "reset" else _("your password was changed"),
        user=user,
        template="emails/password_changed.txt",
        context={
            "how": how,
            "when": clock.now(),
            "ip": client_ip(request),
            "device": ua.label,
            "reset_url": absolute_url(reverse("password_reset")),
            "security_url": absolute_url(reverse("factors:security")),
        },
    )
