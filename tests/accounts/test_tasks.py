"""Notification emails: retried with back-off on a queueing backend, run by the real db_worker."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import timedelta
from unittest import mock

from django.conf import settings
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from authsite.accounts import tasks
from authsite.accounts.models import User
from tests.base import BrowserClient as Client
from tests.base import SimpleTestCase
from tests.helpers import (
    BROKEN_MAILER,
    DATABASE_TASKS,
    NO_EMAIL_CAPS,
    CacheClearingTestCase,
    make_login_event,
    make_user,
)


class RetryPolicyTests(SimpleTestCase):
    def test_back_off_grows(self):
        self.assertEqual([tasks.retry_delay(n).total_seconds() for n in (1, 2, 3, 4)], [60.0, 300.0, 1500.0, 7500.0])

    @override_settings(MAILERS=BROKEN_MAILER, NOTIFICATION_MAX_ATTEMPTS=3)
    def test_failed_send_is_queued_again_later_until_the_last_attempt(self):
        now = timezone.now()
        queued = mock.Mock()
        deferring = mock.Mock(supports_defer=True)
        with (
            mock.patch("authsite.accounts.tasks.default_task_backend", deferring),
            mock.patch("authsite.core.clock.now", return_value=now),
            mock.patch.object(type(tasks.send_email), "using", return_value=queued) as using,
            self.assertLogs("authsite.notifications", "WARNING") as logs,
        ):
            tasks.send_email.call(to="a@example.com", subject="s", body="b", attempt=2)
        using.assert_called_once_with(run_after=now + timedelta(seconds=300))
        queued.enqueue.assert_called_once_with(to="a@example.com", subject="s", body="b", attempt=3)
        self.assertIn("retry queued", logs.output[0])
        with (
            mock.patch("authsite.accounts.tasks.default_task_backend", deferring),
            self.assertRaises(ConnectionRefusedError),
        ):
            tasks.send_email.call(to="a@example.com", subject="s", body="b", attempt=3)

    @override_settings(MAILERS=BROKEN_MAILER)
    def test_immediate_backend_does_not_retry_inside_the_request(self):
        with self.assertRaises(ConnectionRefusedError):
            tasks.send_email.call(to="a@example.com", subject="s", body="b")


class DatabaseQueueTests(SimpleTestCase):
    """The production path: TASKS_BACKEND=database, then `manage.py db_worker --batch` sends."""

    def test_queued_email_is_sent_by_the_worker(self):
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL"))},
                "DJANGO_SETTINGS_MODULE": "authsite.settings",
                "DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3",
                "TASKS_BACKEND": "database",
                "MAIL_BACKEND": "console",
            }

            def manage(*args: str) -> subprocess.CompletedProcess:
                return subprocess.run(
                    [sys.executable, "manage.py", *args],
                    cwd=settings.BASE_DIR,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )

            self.assertEqual(manage("migrate", "--noinput").returncode, 0)
            enqueue = (
                "from authsite.accounts.services import send_templated_email;"
                "print(send_templated_email(to='queued@example.com', subject='queued', "
                "template='emails/signup_exists.txt', context={}))"
            )
            queued = manage("shell", "-c", enqueue)
            self.assertEqual(queued.stdout.strip().splitlines()[-1], "True", queued.stderr)
            self.assertNotIn("queued@example.com", queued.stdout, "nothing may be sent before the worker runs")
            worker = manage("db_worker", "--batch", "--no-startup-delay")
            self.assertEqual(worker.returncode, 0, worker.stderr)
            self.assertIn("To: queued@example.com", worker.stdout)
            self.assertIn("Subject: Adaptive MFA: queued", worker.stdout)


@override_settings(TASKS=DATABASE_TASKS, ACCOUNT_EMAIL_CAPS=NO_EMAIL_CAPS)
class QueuedSingleUseLinkTests(CacheClearingTestCase):
    """An emailed single-use link is made by the worker as it sends: the queue (the task table in
    production) never stores an activation or reset token."""

    def queued_email(self) -> dict:
        from django_tasks_db.models import DBTaskResult

        [row] = DBTaskResult.objects.filter(task_path="authsite.accounts.tasks.send_email")
        kwargs = row.args_kwargs["kwargs"]
        self.assertEqual(mail.outbox, [], "nothing is sent before the worker runs")
        row.task.call(**kwargs)  # what db_worker does
        return kwargs

    def test_activation_link(self):
        Client().post("/signup/", {"email": "new@example.com", "password": "a fresh passphrase 42"})
        queued = self.queued_email()
        self.assertNotIn("/signup/activate/", json.dumps(queued))
        self.assertIn(tasks.LINK_MARK, queued["body"])
        [message] = mail.outbox
        link = re.search(r"http://testserver(/signup/activate/\S+/)", message.body).group(1)
        self.assertNotIn(tasks.LINK_MARK, message.body)
        self.assertContains(Client().get(link), "Confirm your email")

    def test_reset_link_after_this_wasnt_me(self):
        user = make_user()
        client = Client()
        client.force_login(user)
        event = make_login_event(user)
        self.assertEqual(client.post("/account/activity/not-me/", {"event": event.pk}).status_code, 302)
        queued = self.queued_email()
        self.assertNotIn("/password/reset/", json.dumps(queued))
        [message] = mail.outbox
        link = re.search(r"http://testserver(/password/reset/\S+/)", message.body).group(1)
        self.assertContains(Client().get(link, follow=True), "Choose a new password")

    def test_no_email_when_the_account_is_gone_before_the_worker_runs(self):
        Client().post("/signup/", {"email": "new@example.com", "password": "a fresh passphrase 42"})
        User.objects.filter(email="new@example.com").delete()
        with self.assertLogs("authsite.notifications", "WARNING"):
            self.queued_email()
        self.assertEqual(mail.outbox, [])
