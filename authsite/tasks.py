"""Background work through Django's tasks framework (``TASKS``).

Development and tests use the immediate backend (the task runs inside the request, and a failure
is recorded on its result instead of being raised); production can point ``TASKS`` at a worker
backend without code changes.
"""

from __future__ import annotations

from django.core.mail import EmailMessage
from django.tasks import task


@task
def send_email(*, to: str, subject: str, body: str) -> None:
    """Send one plain-text email through the default mailer."""
    EmailMessage(subject=subject, body=body, to=[to]).send()
