"""The "ago" filter for times shown on the Security page."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

from django.template import Context, Template
from django.utils import timezone

from tests.base import SimpleTestCase


class AgoFilterTests(SimpleTestCase):
    def render(self, value) -> str:
        return Template("{% load when %}{{ value|ago }}").render(Context({"value": value}))

    def test_just_now_minutes_hours_and_nothing(self):
        now = timezone.now()
        with mock.patch("authsite.core.clock.now", return_value=now):
            self.assertEqual(self.render(now - timedelta(seconds=20)), "just now")
            self.assertEqual(self.render(now - timedelta(minutes=5, seconds=3)), "5\xa0minutes ago")
            self.assertEqual(self.render(now - timedelta(hours=3)), "3\xa0hours ago")
            self.assertEqual(self.render(None), "")

    def test_in_the_reader_language(self):
        from django.utils import translation

        now = timezone.now()
        expected = {
            "nb": ("akkurat nå", "for 3\xa0timer siden"),
            "de": ("gerade eben", "vor 3\xa0Stunden"),
            "fr": ("à l\u2019instant", "il y a 3\xa0heures"),
            "es": ("ahora mismo", "hace 3\xa0horas"),
        }
        with mock.patch("authsite.core.clock.now", return_value=now):
            for code, (just_now, hours) in expected.items():
                with self.subTest(code), translation.override(code):
                    self.assertEqual(self.render(now - timedelta(seconds=20)), just_now)
                    self.assertEqual(self.render(now - timedelta(hours=3)), hours)
