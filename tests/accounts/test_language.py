"""Languages: chosen by the browser or the menu, stored on the account, used for what is sent later."""

from __future__ import annotations

import re

from django.conf import settings
from django.core import mail
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import translation

from authsite.accounts.language import in_user_language, remember_language, supported_language, user_language
from authsite.accounts.models import User
from authsite.accounts.tasks import send_password_reset
from factors.notify import notify_factor_change
from tests.base import TestCase
from tests.helpers import PASSWORD, force_login_verified, make_user

COOKIE = settings.LANGUAGE_COOKIE_NAME


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)">', response.content.decode()).group(1)


def h1(response) -> str:
    return re.search(r"<h1>(.*?)</h1>", response.content.decode(), re.S).group(1).strip()


class BrowserLanguageTests(TestCase):
    def test_the_browser_language_picks_the_page_language_and_the_lang_attribute(self):
        expected = {"en": "Sign in", "nb": "Logg på", "de": "Anmelden", "fr": "Se connecter", "es": "Iniciar sesión"}
        for code, heading in expected.items():
            with self.subTest(code):
                page = self.client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE=f"{code},en;q=0.5")
                self.assertEqual(html_lang(page), code)
                self.assertEqual(h1(page), heading)
                self.assertIn("Accept-Language", page["Vary"])

    def test_a_regional_variant_gets_its_language_and_an_unknown_one_english(self):
        self.assertEqual(html_lang(self.client.get("/", HTTP_ACCEPT_LANGUAGE="nb-NO")), "nb")
        self.assertEqual(html_lang(self.client.get("/", HTTP_ACCEPT_LANGUAGE="de-AT")), "de")
        self.assertEqual(html_lang(self.client.get("/", HTTP_ACCEPT_LANGUAGE="ja")), "en")

    def test_every_page_has_the_language_menu_with_each_language_named_in_itself(self):
        page = self.client.get(reverse("signup"), HTTP_ACCEPT_LANGUAGE="fr")
        self.assertContains(page, '<label for="language-menu">Langue</label>', html=False)
        for code, name in (("nb", "Norsk (bokmål)"), ("de", "Deutsch"), ("es", "Español")):
            self.assertContains(page, f'<option value="{code}" lang="{code}">{name}</option>', html=False)
        self.assertContains(page, '<option value="fr" lang="fr" selected>Français</option>', html=False)

    def test_dates_follow_the_locale(self):
        from datetime import date

        from django.utils.formats import date_format

        day = date(2026, 12, 4)
        expected = {
            "en": "4 December 2026",
            "nb": "4. desember 2026",
            "de": "4. Dezember 2026",
            "fr": "4 décembre 2026",
        }
        for code, text in expected.items():
            with self.subTest(code), translation.override(code):
                self.assertEqual(date_format(day, "DATE_FORMAT"), text)


class LanguageMenuTests(TestCase):
    def test_choosing_a_language_sets_the_cookie_and_returns_to_the_page(self):
        answer = self.client.post(reverse("set_language"), {"language": "de"}, HTTP_REFERER="http://testserver/signup/")
        self.assertRedirects(answer, "http://testserver/signup/", fetch_redirect_response=False)
        self.assertEqual(self.client.cookies[COOKIE].value, "de")
        self.assertEqual(h1(self.client.get(reverse("signup"))), "Konto erstellen")

    def test_a_signed_in_choice_is_stored_on_the_account(self):
        user = make_user()
        self.client.force_login(user)
        self.client.post(reverse("set_language"), {"language": "es"})
        user.refresh_from_db()
        self.assertEqual(user.language, "es")

    def test_an_unknown_language_changes_nothing_and_is_no_error(self):
        user = make_user(language="fr")
        self.client.force_login(user)
        answer = self.client.post(reverse("set_language"), {"language": "xx-evil"})
        self.assertEqual(answer.status_code, 302)
        self.assertNotIn(COOKIE, answer.cookies)
        user.refresh_from_db()
        self.assertEqual(user.language, "fr")

    def test_an_offsite_referer_is_not_followed(self):
        answer = self.client.post(reverse("set_language"), {"language": "nb"}, HTTP_REFERER="https://evil.example/")
        self.assertEqual(answer["Location"], "/")

    def test_only_post_changes_the_language(self):
        self.assertEqual(self.client.get(reverse("set_language"), {"language": "de"}).status_code, 405)


class StoredLanguageTests(TestCase):
    def test_a_new_browser_of_a_signed_in_account_speaks_its_stored_language(self):
        user = make_user(language="nb")
        self.client.force_login(user)
        page = self.client.get("/", HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(html_lang(page), "nb")
        self.assertEqual(h1(page), "Velkommen tilbake")

    def test_the_cookie_is_the_latest_choice_and_is_stored(self):
        user = make_user(language="nb")
        self.client.cookies[COOKIE] = "fr"
        self.client.force_login(user)
        self.assertEqual(html_lang(self.client.get("/")), "fr")
        user.refresh_from_db()
        self.assertEqual(user.language, "fr")

    def test_an_account_without_a_language_takes_the_one_it_first_uses_signed_in(self):
        user = make_user()
        self.assertEqual(user.language, "")
        german = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}
        answer = self.client.post(reverse("login"), {"email": user.email, "password": PASSWORD}, **german)
        self.client.get(answer["Location"], **german)
        user.refresh_from_db()
        self.assertEqual(user.language, "de")

    def test_helpers_accept_only_supported_languages(self):
        self.assertEqual(supported_language("fr-CA"), "fr")
        self.assertEqual(supported_language("klingon"), "")
        user = make_user()
        remember_language(user, "klingon")
        user.refresh_from_db()
        self.assertEqual(user.language, "")
        with translation.override("es"):
            self.assertEqual(user_language(user), "es")
            self.assertEqual(user_language(user, "de"), "de")
        user.language = "nb"
        self.assertEqual(user_language(user, "de"), "nb")


class SentInTheAccountLanguageTests(TestCase):
    def test_a_notification_is_written_in_the_account_language_whatever_the_request_speaks(self):
        from django.utils.translation import gettext_lazy

        user = make_user(language="de")
        request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.7", HTTP_USER_AGENT="Mozilla/5.0")
        with translation.override("en"):
            notify_factor_change(
                request,
                user=user,
                subject=gettext_lazy("a sign-in method was added"),
                what=gettext_lazy("An authenticator app was added to your account."),
            )
        message = mail.outbox[-1]
        self.assertIn("eine Anmeldemethode wurde hinzugefügt", message.subject)
        self.assertTrue(message.body.startswith("Hallo,"))
        self.assertIn("Ihrem Konto wurde eine Authenticator-App hinzugefügt.", message.body)
        self.assertIn("Wann:", message.body)

    def test_the_reset_worker_writes_in_the_stored_language_else_in_the_request_language(self):
        stored = make_user("nora@example.com", language="nb")
        fresh = make_user("frank@example.com")
        with translation.override("en"):
            send_password_reset.call(address=stored.email, language="es")
            send_password_reset.call(address=fresh.email, language="fr")
        by_address = {m.to[0]: m for m in mail.outbox}
        self.assertIn("tilbakestill passordet ditt", by_address[stored.email].subject)
        self.assertTrue(by_address[stored.email].body.startswith("Hei,"))
        self.assertIn("réinitialisez votre mot de passe", by_address[fresh.email].subject)
        self.assertTrue(by_address[fresh.email].body.startswith("Bonjour,"))

    def test_the_reset_request_carries_the_request_language_to_the_task(self):
        user = make_user("rita@example.com")
        self.client.post(reverse("password_reset"), {"email": user.email}, HTTP_ACCEPT_LANGUAGE="es")
        self.assertTrue(mail.outbox[-1].body.startswith("Hola:"))

    @override_settings(FACTORS_SMS_BACKEND="locmem", FACTORS_TOTP_ISSUER="Test Site")
    def test_a_text_message_code_is_in_the_account_language(self):
        from factors.services import SendStatus, enrollment_bind, factor_send_code, factor_sms_enroll_begin
        from factors.sms.backends import locmem

        user = make_user(language="fr")
        device = factor_sms_enroll_begin(user=user, phone_number="+44 7911 123456")
        with translation.override("en"):
            sent = factor_send_code(user=user, device_id=device.persistent_id, bind=enrollment_bind(device))
        self.assertEqual(sent.status, SendStatus.SENT)
        self.assertRegex(locmem.outbox[-1].body, r"^\d{6} est votre code Test Site\. Il expire dans \d+ minutes\.$")

    def test_an_admin_action_emails_the_owner_in_the_owner_language(self):
        from authsite.center.account_admin import account_mfa_reset

        owner = make_user("olga@example.com", language="es")
        admin = make_user("root@example.com", is_staff=True, is_superuser=True, language="en")
        with translation.override("en"):
            account_mfa_reset(user=owner, by=admin)
        message = mail.outbox[-1]
        self.assertIn("se han restablecido tus métodos de inicio de sesión", message.subject)
        self.assertIn("Qué ha cambiado:", message.body)

    def test_in_user_language_falls_back_to_the_active_language_for_no_account(self):
        with translation.override("de"), in_user_language(None):
            self.assertEqual(translation.get_language(), "de")


class RiskReasonTests(TestCase):
    def test_reasons_are_stored_in_english_and_shown_in_the_reader_language(self):
        from authsite.center.activity import recent_sign_ins
        from risk.policy import REASON_TEXTS, Reason
        from tests.helpers import make_login_event

        with translation.override("fr"):
            stored = Reason("new_device", REASON_TEXTS["new_device"], 1.0).as_dict()
        self.assertEqual(stored["text"], "We don't recognise this device")
        user = make_user()
        make_login_event(user, decision="challenge", reasons=[stored])
        with translation.override("de"):
            rows = recent_sign_ins(user=user)
        self.assertEqual(rows[0].reasons, ["Wir erkennen dieses Gerät nicht"])


class UserModelTests(TestCase):
    def test_the_language_is_empty_until_known(self):
        self.assertEqual(User.objects.create_user(email="new@example.com", password=PASSWORD).language, "")

    def test_force_login_verified_keeps_the_stored_language(self):
        user = make_user(language="de")
        force_login_verified(self.client, user)
        self.assertEqual(html_lang(self.client.get(reverse("factors:security"))), "de")
