"""The translation checks CI runs: unmarked template text, and complete catalogues per locale."""

from __future__ import annotations

import shutil
import tempfile
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import SimpleTestCase, override_settings
from django.utils import translation

from authsite.center.i18n_audit import audit_template, audit_templates


class TemplateAuditTests(SimpleTestCase):
    def audit(self, source: str, suffix: str = ".html") -> list[str]:
        directory = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, directory)
        path = directory / f"page{suffix}"
        path.write_text(source, encoding="utf-8")
        return [problem.text for problem in audit_template(path, path.name)]

    def test_the_project_templates_have_no_unmarked_text(self):
        self.assertEqual([str(p) for p in audit_templates([Path(d) for d in settings.TEMPLATES[0]["DIRS"]])], [])

    def test_unmarked_text_nodes_and_read_attributes_are_found(self):
        found = self.audit(
            '{% load i18n %}<h1>Welcome</h1><button aria-label="Close menu">{% translate "X" %}</button>'
            '<img alt="Company logo"><input type="submit" value="Save it"><input type="text" value="kept">'
        )
        self.assertEqual(found, ["Welcome", "Close menu", "Company logo", "Save it"])

    def test_marked_text_comments_scripts_and_class_blocks_are_not_reported(self):
        found = self.audit(
            '{% extends "base.html" %}{% load i18n %}{% block main_class %}wide{% endblock %}'
            '{% block content %}<p>{% translate "Hello" %} {{ user.email }}</p>'
            "<p>{% blocktranslate %}Hi {{ name }}, welcome{% endblocktranslate %}</p>"
            "{% comment %}Not for people{% endcomment %}<script>const words = 1;</script>"
            "<p>Adaptive MFA · UTC · 42 %</p>{% endblock %}"
        )
        self.assertEqual(found, [])

    def test_plain_text_email_templates_are_checked_too(self):
        self.assertEqual(self.audit("{% load i18n %}{% translate 'Hello,' %}\n\nYour code\n", ".txt"), ["Your code"])

    def test_the_line_of_the_text_is_reported(self):
        directory = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, directory)
        (directory / "p.html").write_text("<div>\n\n  <p>Forgot it</p></div>", encoding="utf-8")
        self.assertEqual(
            [str(p) for p in audit_template(directory / "p.html", "p.html")],
            ["p.html:3: 'Forgot it' is not marked for translation"],
        )


class CatalogueCheckTests(SimpleTestCase):
    def test_every_locale_is_complete_and_every_template_marked(self):
        out = StringIO()
        call_command("i18n_check", stdout=out)
        for code in ("nb", "de", "fr", "es"):
            self.assertRegex(out.getvalue(), rf"{code} django\.po: \d+ translated messages\.\n")
            self.assertRegex(out.getvalue(), rf"{code} djangojs\.po: \d+ translated messages\.\n")

    def broken_locale(self, body: str) -> Path:
        directory = Path(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, directory)
        for code, _ in settings.LANGUAGES[1:]:
            messages = directory / code / "LC_MESSAGES"
            messages.mkdir(parents=True)
            header = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
            (messages / "django.po").write_text(header + body, encoding="utf-8")
            (messages / "djangojs.po").write_text(header, encoding="utf-8")
        return directory

    def test_an_untranslated_message_fails(self):
        with override_settings(LOCALE_PATHS=[self.broken_locale('msgid "Sign in"\nmsgstr ""\n')]):
            with self.assertRaisesMessage(CommandError, "1 untranslated message"):
                call_command("i18n_check", stdout=StringIO())

    def test_a_fuzzy_message_fails(self):
        body = '#, fuzzy\nmsgid "Sign in"\nmsgstr "Logg inn"\n'
        with override_settings(LOCALE_PATHS=[self.broken_locale(body)]):
            with self.assertRaisesMessage(CommandError, "1 fuzzy translation"):
                call_command("i18n_check", stdout=StringIO())

    def test_a_wrong_placeholder_fails(self):
        body = '#, python-format\nmsgid "Sent %(email)s a link."\nmsgstr "Sendte %(epost)s en lenke."\n'
        with override_settings(LOCALE_PATHS=[self.broken_locale(body)]):
            with self.assertRaisesMessage(CommandError, "msgfmt failed"):
                call_command("i18n_check", stdout=StringIO())

    def test_terms_are_those_the_big_platforms_use(self):
        passkey = {"nb": "tilgangsnøkkel", "de": "Passkey", "fr": "clé d\u2019accès", "es": "llave de acceso"}
        for code, word in passkey.items():
            with self.subTest(code), translation.override(code):
                self.assertIn(word, translation.gettext("Sign in with a passkey"))
