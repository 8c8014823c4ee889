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
