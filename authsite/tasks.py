"""Background work through Django's tasks framework (``TASKS``, see settings).

Development and tests use the immediate backend: the task runs inside the request, and a failure
is recorded on its result instead of being raised. Production queues tasks in the database
(``TASKS_BACKEND=database``) for ``python manage.py db_worker``; there a failed email is queued
again with an exponential back-off, up to ``NOTIFICATION_MAX_ATTEMPTS`` times, and only then
logged as lost.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.tasks import default_task_backend, task

from authsite import clock

logger = logging.getLogger("authsite.notifications")

# Seconds before the second, third, ... attempt: 1 min, 5 min, 25 min, ~2 h.
RETRY_BASE_SECONDS = 60
RETRY_FACTOR = 5


def retry_delay(attempt: int) -> timedelta:
    """Wait before attempt ``attempt + 1`` (``attempt`` >= 1)."""
    return timedelta(seconds=RETRY_BASE_SECONDS * RETRY_FACTOR ** (attempt - 1))


@task
def send_email(*, to: str, subject: str, body: str, attempt: int = 1) -> None:
    """Send one plain-text email; on failure queue a later attempt where the backend can defer."""
    try:
        EmailMessage(subject=subject, body=body, to=[to]).send()
    except Exception as exc:
        if attempt < settings.NOTIFICATION_MAX_ATTEMPTS and default_task_backend.supports_defer:
            send_email.using(run_after=clock.now() + retry_delay(attempt)).enqueue(
                to=to, subject=subject, body=body, attempt=attempt + 1
            )
            logger.warning(
                "notification send failed; retry queued",
                extra={"event": "notification_retry", "attempt": attempt, "error": type(exc).__name__},
            )
            return
        raise
