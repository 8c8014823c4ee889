"""The staged login: pending state, guards, expiry, and the single place that logs in."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.contrib.auth import SESSION_KEY
from django.test import override_settings
from django.utils import timezone

from authsite.login.state import SESSION_KEY as PENDING_KEY
from tests.base import BrowserClient as Client
from tests.helpers import PASSWORD, CacheClearingTestCase, make_user

STAGES = [
    "tests.login.stages.SkippedStage",
    "tests.login.stages.ConfirmStage",
    "tests.login.stages.SecondStage",
]


@override_settings(ROOT_URLCONF="tests.login.stages", LOGIN_STAGES=STAGES)
class StagedLoginTests(CacheClearingTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.user = make_user()

    def password(self, client: Client | None = None):
        return (client or self.client).post("/login/", {"email": self.user.email, "password": PASSWORD})

    def test_a_pending_login_stored_by_the_previous_version_counts_as_absent(self):
        # The previous version kept an untyped "flags" dict instead of typed facts.
        self.password()
        session = self.client.session
        old = {k: v for k, v in session[PENDING_KEY].items() if k != "facts"}
        session[PENDING_KEY] = {**old, "flags": {"risk_event_id": 1, "require_factor": True}}
        session.save()
        response = self.client.get("/test/confirm/")
        self.assertRedirects(response, "/login/", fetch_redirect_response=False)
        self.assertNotIn(SESSION_KEY, self.client.session)

    def test_password_alone_does_not_sign_in_when_stages_are_configured(self):
        response = self.password()
        self.assertRedirects(response, "/test/confirm/", fetch_redirect_response=False)
        self.assertNotIn(SESSION_KEY, self.client.session)
        pending = self.client.session[PENDING_KEY]
        self.assertEqual(pending["user_id"], self.user.pk)
        self.assertEqual(pending["stage_index"], 1)  # the skipped stage passed by itself
        self.assertTrue(pending["stage_state"]["confirm"]["shown"])
        self.assertFalse(self.client.get("/").wsgi_request.user.is_authenticated)

    def test_all_stages_passed_signs_in_once(self):
        self.password()
        self.assertRedirects(self.client.post("/test/confirm/"), "/test/second/", fetch_redirect_response=False)
        self.assertNotIn(SESSION_KEY, self.client.session)
        response = self.client.post("/test/second/")
        self.assertRedirects(response, "/", fetch_redirect_response=False)
        self.assertEqual(self.client.session[SESSION_KEY], str(self.user.pk))
        self.assertNotIn(PENDING_KEY, self.client.session)

    def test_session_key_changes_after_password_and_after_last_stage(self):
        self.client.get("/login/")
        self.client.cookies["sessionid"] = "k" * 32
        self.password()
        after_password = self.client.cookies["sessionid"].value
        self.assertNotEqual(after_password, "k" * 32)
        self.client.post("/test/confirm/")
        self.client.post("/test/second/")
        after_login = self.client.cookies["sessionid"].value
        self.assertNotEqual(after_login, after_password)
        stale = Client()
        stale.cookies["sessionid"] = after_password
        self.assertFalse(stale.get("/").wsgi_request.user.is_authenticated)

    def test_stage_url_without_pending_login_goes_to_password_page(self):
        response = self.client.get("/test/confirm/", follow=True)
        self.assertRedirects(response, "/login/")
        self.assertContains(response, "Please sign in first.")

    def test_stage_url_out_of_turn_resumes_the_current_stage(self):
        self.password()
        response = self.client.post("/test/second/")
        self.assertRedirects(response, "/test/confirm/", fetch_redirect_response=False)
        self.assertNotIn(SESSION_KEY, self.client.session)

    def test_expired_pending_login_goes_back_to_password_with_message(self):
        self.password()
        later = timezone.now() + timedelta(seconds=601)
        with mock.patch("authsite.core.clock.now", return_value=later), self.assertLogs("authsite.events") as logs:
            response = self.client.post("/test/confirm/", follow=True)
        self.assertRedirects(response, "/login/")
        self.assertContains(response, "took too long")
        self.assertNotIn(PENDING_KEY, self.client.session)
        self.assertNotIn(SESSION_KEY, self.client.session)
        self.assertIn("authn_login_expired", logs.output[0])

    def test_pending_login_just_inside_timeout_still_works(self):
        self.password()
        later = timezone.now() + timedelta(seconds=590)
        with mock.patch("authsite.core.clock.now", return_value=later):
            response = self.client.post("/test/confirm/")
        self.assertRedirects(response, "/test/second/", fetch_redirect_response=False)

    def test_deactivated_during_stages_cannot_finish(self):
        self.password()
        self.client.post("/test/confirm/")
        self.user.is_active = False
        self.user.save()
        response = self.client.post("/test/second/", follow=True)
        self.assertContains(response, "can no longer sign in")
        self.assertNotIn(SESSION_KEY, self.client.session)

    def test_password_changed_during_the_stages_ends_the_attempt(self):
        self.password()
        self.client.post("/test/confirm/")
        self.user.set_password("a new passphrase 99")
        self.user.save()
        with self.assertLogs("authsite.events") as logs:
            response = self.client.post("/test/second/", follow=True)
        self.assertRedirects(response, "/login/")
        self.assertContains(response, "Your password was changed while you were signing in")
        self.assertNotIn(SESSION_KEY, self.client.session)
        self.assertNotIn(PENDING_KEY, self.client.session)
        failed = [r for r in logs.records if r.getMessage() == "authn_login_fail"]
        self.assertEqual([(r.outcome, r.user_id) for r in failed], [("password_changed", self.user.pk)])

    @override_settings(LOGIN_STAGES=["tests.login.stages.RefuseOnceStage", "tests.login.stages.ConfirmStage"])
    def test_a_refused_login_is_gone_and_cannot_be_resumed_without_the_password(self):
        response = self.password()
        self.assertRedirects(response, "/login/", fetch_redirect_response=False)
        self.assertNotIn(PENDING_KEY, self.client.session)
        # The stage would let a second look through, but there is nothing left to look at.
        for path in ("/test/confirm/", "/login/verify/"):
            with self.subTest(path=path):
                response = self.client.post(path, follow=True)
                self.assertRedirects(response, "/login/")
                self.assertContains(response, "Please sign in first.")
                self.assertNotIn(SESSION_KEY, self.client.session)

    def test_corrupt_pending_state_is_treated_as_absent(self):
        session = self.client.session
        session[PENDING_KEY] = {"unexpected": 1}
        session.save()
        self.client.cookies["sessionid"] = session.session_key
        response = self.client.get("/test/confirm/")
        self.assertRedirects(response, "/login/", fetch_redirect_response=False)


class StageSettingTests(CacheClearingTestCase):
    def test_bad_stage_path_is_a_system_check_error(self):
        from authsite.accounts.checks import check_login_settings

        with override_settings(LOGIN_STAGES=["no.such.Stage"]):
            errors = check_login_settings()
        self.assertEqual([e.id for e in errors], ["accounts.E001"])

    @override_settings(LOGIN_STAGES=[])
    def test_no_stages_means_plain_password_login(self):
        make_user()
        response = self.client.post("/login/", {"email": "alice@example.com", "password": PASSWORD})
        self.assertRedirects(response, "/", fetch_redirect_response=False)
        self.assertIn(SESSION_KEY, self.client.session)


class PendingLoginUserTests(CacheClearingTestCase):
    def test_the_user_is_loaded_once_and_never_stored_in_the_session(self):
        from dataclasses import asdict

        from authsite.login.state import PendingLogin

        user = make_user()
        pending = PendingLogin(user_id=user.pk, backend="x", started_at=0.0)
        with self.assertNumQueries(1):
            self.assertEqual(pending.user(), user)
            self.assertIs(pending.user(), pending.user())
        self.assertNotIn("_user", asdict(pending))
        other = make_user("other@example.com")
        pending.keep_user(other)
        with self.assertNumQueries(1):
            # A kept user who is not the pending login's own is never served.
            self.assertEqual(pending.user(), user)
