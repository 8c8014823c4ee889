"""The session store: Django's database sessions plus user, address, browser and times."""

from __future__ import annotations

import importlib
from datetime import timedelta
from io import StringIO
from unittest import mock

from django.apps import apps
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import override_settings
from django.utils import timezone

from authsite.accounts.middleware import SESSION_AUTH_AT
from authsite.accounts.sessions import (
    SESSION_IP,
    SESSION_UA,
    SessionStore,
    session_public_id,
    user_session_end,
    user_sessions,
    user_sessions_end,
)
from authsite.accounts.sessions_models import UserSession
from tests.base import TestCase, TransactionTestCase
from tests.helpers import make_user

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def make_session(user, *, ip: str = "192.0.2.10", ua: str = UA, auth_at=None) -> SessionStore:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store[SESSION_IP] = ip
    store[SESSION_UA] = ua
    store[SESSION_AUTH_AT] = (auth_at or timezone.now()).timestamp()
    store.save()
    return store


class SessionStoreTests(TestCase):
    def setUp(self) -> None:
        self.user = make_user()

    def test_engine_is_the_project_store(self):
        from django.conf import settings

        self.assertEqual(settings.SESSION_ENGINE, "authsite.accounts.sessions")
        self.assertIs(UserSession.get_session_store_class(), SessionStore)

    def test_a_signed_in_session_records_user_address_browser_and_times(self):
        signed_in_at = timezone.now() - timedelta(minutes=5)
        store = make_session(self.user, ip="::ffff:192.0.2.10", auth_at=signed_in_at)
        row = UserSession.objects.get(session_key=store.session_key)
        self.assertEqual(row.user_id, self.user.pk)
        self.assertEqual(row.ip, "192.0.2.10")
        self.assertEqual(row.user_agent, UA)
        self.assertAlmostEqual(row.created_at.timestamp(), signed_in_at.timestamp(), places=3)
        self.assertLessEqual(abs((timezone.now() - row.last_seen).total_seconds()), 5)
        self.assertEqual(row.public_id, session_public_id(store.session_key))
        self.assertNotEqual(row.public_id, store.session_key)
        # The session still works as a session.
        self.assertEqual(SessionStore(store.session_key)[SESSION_KEY], str(self.user.pk))

    def test_an_anonymous_session_has_no_user(self):
        store = SessionStore()
        store["cart"] = 1
        store[SESSION_IP] = "not an address"
        store.save()
        row = UserSession.objects.get(session_key=store.session_key)
        self.assertIsNone(row.user_id)
        self.assertIsNone(row.ip)
        self.assertIsNone(row.created_at)

    def test_last_seen_moves_on_each_save_and_created_at_stays(self):
        store = make_session(self.user)
        first = UserSession.objects.get(session_key=store.session_key)
        later = timezone.now() + timedelta(minutes=3)
        with mock.patch("authsite.core.clock.now", return_value=later):
            store["x"] = 1
            store.save()
        row = UserSession.objects.get(session_key=store.session_key)
        self.assertEqual(row.last_seen, later)
        self.assertEqual(row.created_at, first.created_at)

    def test_cycle_key_keeps_the_record_under_the_new_key(self):
        store = make_session(self.user)
        old = store.session_key
        store.cycle_key()
        self.assertFalse(UserSession.objects.filter(session_key=old).exists())
        row = UserSession.objects.get(session_key=store.session_key)
        self.assertEqual((row.user_id, row.public_id), (self.user.pk, session_public_id(store.session_key)))

    def test_user_sessions_lists_only_live_sessions_of_that_user(self):
        live = make_session(self.user)
        other = make_session(make_user("bob@example.com"))
        idle = make_session(self.user)
        UserSession.objects.filter(session_key=idle.session_key).update(last_seen=timezone.now() - timedelta(hours=1))
        old = make_session(self.user, auth_at=timezone.now() - timedelta(hours=13))
        expired = make_session(self.user)
        UserSession.objects.filter(session_key=expired.session_key).update(expire_date=timezone.now())
        keys = [s.session_key for s in user_sessions(user=self.user)]
        self.assertEqual(keys, [live.session_key])
        self.assertNotIn(other.session_key, keys)
        self.assertNotIn(old.session_key, keys)

    def test_sessions_from_before_a_password_change_are_not_listed(self):
        make_session(self.user)
        self.user.set_password("a different passphrase")
        self.user.save()
        self.assertEqual(user_sessions(user=self.user), [])
        fresh = make_session(self.user)
        self.assertEqual([s.session_key for s in user_sessions(user=self.user)], [fresh.session_key])

    @override_settings(SESSION_IDLE_TIMEOUT=3 * 3600)
    def test_the_idle_window_follows_the_setting(self):
        idle = make_session(self.user)
        UserSession.objects.filter(session_key=idle.session_key).update(last_seen=timezone.now() - timedelta(hours=1))
        self.assertEqual(len(user_sessions(user=self.user)), 1)

    def test_ending_sessions_is_scoped_to_the_user(self):
        mine = make_session(self.user)
        keep = make_session(self.user)
        bob = make_user("bob@example.com")
        bobs = make_session(bob)
        self.assertEqual(user_session_end(user=self.user, public_id=session_public_id(bobs.session_key)), 0)
        self.assertEqual(user_session_end(user=self.user, public_id=""), 0)
        self.assertEqual(user_session_end(user=self.user, public_id=session_public_id(mine.session_key)), 1)
        self.assertFalse(SessionStore().exists(mine.session_key))
        make_session(self.user)
        self.assertEqual(user_sessions_end(user=self.user, keep_session_key=keep.session_key), 1)
        self.assertEqual(
            list(UserSession.objects.filter(user_id=self.user.pk)), [UserSession.objects.get(pk=keep.session_key)]
        )
        self.assertEqual(user_sessions_end(user=self.user), 1)
        self.assertTrue(SessionStore().exists(bobs.session_key))

    def test_clear_expired_uses_the_project_table(self):
        store = make_session(self.user)
        UserSession.objects.filter(session_key=store.session_key).update(expire_date=timezone.now() - timedelta(days=1))
        SessionStore.clear_expired()
        self.assertFalse(UserSession.objects.exists())

    def test_clearsessions_command_deletes_only_expired_sessions(self):
        expired, live = make_session(self.user), make_session(self.user)
        gone = timezone.now() - timedelta(seconds=1)
        UserSession.objects.filter(session_key=expired.session_key).update(expire_date=gone)
        out = StringIO()
        call_command("clearsessions", stdout=out)
        self.assertEqual(out.getvalue().strip(), "Deleted 1 expired session.")
        self.assertEqual(list(UserSession.objects.values_list("session_key", flat=True)), [live.session_key])


class OldSessionTableMigrationTests(TransactionTestCase):
    """accounts 0004 removes what django.contrib.sessions left in databases that once had it."""

    def test_drops_the_old_table_and_its_migration_rows_and_runs_again_harmlessly(self):
        drop = importlib.import_module(
            "authsite.accounts.migrations.0004_drop_contrib_sessions_table"
        ).drop_contrib_sessions
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE django_session (session_key varchar(40) PRIMARY KEY, session_data text)")
            cursor.execute("INSERT INTO django_session VALUES ('abc', 'old data')")
        recorder = MigrationRecorder(connection)
        recorder.record_applied("sessions", "0001_initial")
        recorder.record_applied("sessions", "0002_remove_content_type_name")
        sessions_before = UserSession.objects.count()

        for _ in range(2):  # a second run finds nothing to do
            with connection.schema_editor() as editor:
                drop(apps, editor)

        self.assertNotIn("django_session", connection.introspection.table_names())
        self.assertFalse(recorder.migration_qs.filter(app="sessions").exists())
        self.assertTrue(recorder.migration_qs.filter(app="accounts", name="0004_drop_contrib_sessions_table").exists())
        self.assertEqual(UserSession.objects.count(), sessions_before)
