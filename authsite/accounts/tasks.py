"""Background work through Django's tasks framework (``TASKS``, see settings).

Development and tests use the immediate backend: the task runs inside the request, and a failure
is recorded on its result instead of being raised. Production queues tasks in the database
(``TASKS_BACKEND=database``) for ``python manage.py db_worker``; there a failed email is queued
again with an exponential back-off, up to ``NOTIFICATION_MAX_ATTEMPTS`` times, and only then
logged as lost.
"""

from __future__ import annotations

import email.policy
import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.tasks import default_task_backend, task

from authsite.core import clock

logger = logging.getLogger("authsite.notifications")

# Seconds before the second, third, ... attempt: 1 min, 5 min, 25 min, ~2 h.
RETRY_BASE_SECONDS = 60
RETRY_FACTOR = 5


def retry_delay(attempt: int) -> timedelta:
    """Wait before attempt ``attempt + 1`` (``attempt`` >= 1)."""
    return timedelta(seconds=RETRY_BASE_SECONDS * RETRY_FACTOR ** (attempt - 1))


class PlainTextEmail(EmailMessage):
    """A plain-text email whose body goes out as written: 7bit or 8bit UTF-8, never
    quoted-printable, which breaks long lines (a link) with "=" at the end, so a link copied
    from the console output of development or a mail client's source view is cut short."""

    def message(self, *, policy: email.policy.Policy = email.policy.default):
        msg = super().message(policy=policy)
        body = self.body or ""
        msg.set_content(body, subtype="plain", charset="utf-8", cte="7bit" if body.isascii() else "8bit")
        return msg


# Where a body rendered in the request holds a single-use link. The task writes the link in when
# it sends, so the queue (the task table, with TASKS_BACKEND=database) never stores a token.
LINK_MARK = "@@single-use-link@@"


def single_use_link(kind: str, user) -> str:
    """Return a fresh single-use link of ``kind`` ("reset" or "activate") for ``user`` on SITE_URL."""
    from django.contrib.auth.tokens import default_token_generator
    from django.urls import reverse
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from authsite.accounts.tokens import account_activation_token
    from authsite.core.links import absolute_url

    if kind == "reset":
        uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
        token = default_token_generator.make_token(user)
        return absolute_url(reverse("password_reset_confirm", kwargs={"uidb64": uidb64, "token": token}))
    if kind == "activate":
        return absolute_url(reverse("activate", args=[account_activation_token(user)]))
    raise ValueError(f"unknown link kind {kind!r}")


@task
def send_email(
    *, to: str, subject: str, body: str, attempt: int = 1, link: str = "", user_id: int | None = None
) -> None:
    """Send one plain-text email; on failure queue a later attempt where the backend can defer.

    With ``link`` (a kind for :func:`single_use_link`) and ``user_id``, the link is made now and
    written where the body says ``LINK_MARK``; the email is not sent when the account is gone.
    """
    text = body
    if link:
        from authsite.accounts.models import User

        user = User.objects.filter(pk=user_id).first()
        if user is None:
            logger.warning("link email not sent: no such account", extra={"event": "notification_dropped"})
            return
        text = body.replace(LINK_MARK, single_use_link(link, user))
    try:
        PlainTextEmail(subject=subject, body=text, to=[to]).send()
    except Exception as exc:
        if attempt < settings.NOTIFICATION_MAX_ATTEMPTS and default_task_backend.supports_defer:
            links = {"link": link, "user_id": user_id} if link else {}
            send_email.using(run_after=clock.now() + retry_delay(attempt)).enqueue(
                to=to, subject=subject, body=body, attempt=attempt + 1, **links
            )
            logger.warning(
                "notification send failed; retry queued",
                extra={"event": "notification_retry", "attempt": attempt, "error": type(exc).__name__},
            )
            return
        raise


def password_reset_message(user, language: str | None = None) -> PlainTextEmail:
    """Return the password reset email of ``user``, with a fresh single-use link on ``SITE_URL``.

    It is written in the account's stored language, else in ``language`` (the one the request
    was made in), else in the active one.
    """
    from django.template.loader import render_to_string

    from authsite.accounts.language import in_user_language

    context = {"site_name": settings.SITE_NAME, "reset_url": single_use_link("reset", user)}
    with in_user_language(user, language):
        subject = "".join(render_to_string("emails/password_reset_subject.txt", context).splitlines())
        body = render_to_string("emails/password_reset.txt", context)
    return PlainTextEmail(subject=subject, body=body, to=[user.email])


@task
def send_password_reset(*, address: str, language: str = "") -> None:
    """Email a reset link to the account that ``address`` names, if it may reset its password.

    ``language`` is the request's, for an account that has not stored one yet.

    The request queues this task for every address, known or not, and the link and its token are
    made here: neither the request's work nor the queued arguments depend on whether the account
    exists, and no token is stored in the queue.
    """
    from authsite.accounts.models import User

    user = User.objects.get_by_email(address)
    if user is None or not user.is_active or not user.has_usable_password():
        return
    try:
        password_reset_message(user, language).send()
    except Exception as exc:
        # Without the message: it holds the link. No retry: a new request makes a new link.
        logger.error(
            "password reset email not sent",
            extra={"event": "notification_failed", "user_id": user.pk, "error": type(exc).__name__},
        )
