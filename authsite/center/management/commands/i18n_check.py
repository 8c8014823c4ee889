"""``manage.py i18n_check``: fail when a template has unmarked text, or a locale is incomplete."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from authsite.center.i18n_audit import audit_templates

_STATISTICS = re.compile(
    r"(?P<translated>\d+) translated messages?"
    r"(?:, (?P<fuzzy>\d+) fuzzy translations?)?"
    r"(?:, (?P<untranslated>\d+) untranslated messages?)?"
)


class Command(BaseCommand):
    help = (
        "Check translations: every template text is marked, and every locale's django.po has no "
        "untranslated or fuzzy message (msgfmt --statistics). Exit status 1 on any problem."
    )

    def handle(self, *args, **options) -> None:
        problems = [str(p) for p in audit_templates([Path(d) for d in settings.TEMPLATES[0]["DIRS"]])]
        msgfmt = shutil.which("msgfmt")
        if msgfmt is None:
            raise CommandError("msgfmt is not installed (apt-get install gettext)")
        locale_dir = Path(settings.LOCALE_PATHS[0])
        for code, _name in settings.LANGUAGES:
            if code == settings.LANGUAGE_CODE:
                continue
            for domain in ("django", "djangojs"):
                problems += self._check_catalogue(msgfmt, locale_dir / code / "LC_MESSAGES" / f"{domain}.po", code)
        if problems:
            raise CommandError(f"{len(problems)} translation problem(s):\n  " + "\n  ".join(problems))
        self.stdout.write(self.style.SUCCESS("Every template text is marked and every locale is complete."))

    def _check_catalogue(self, msgfmt: str, po: Path, code: str) -> list[str]:
        """Return the problems of one .po file: missing, invalid, or with fuzzy or untranslated messages."""
        if not po.exists():
            return [f"{po}: missing (make translations)"]
        result = subprocess.run(  # noqa: S603 (msgfmt from PATH, a path of ours)
            [msgfmt, "--check", "--statistics", "-o", "/dev/null", str(po)],
            capture_output=True,
            text=True,
            check=False,
        )
        summary = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
        self.stdout.write(f"{code} {po.name}: {summary}")
        match = _STATISTICS.search(summary)
        if result.returncode != 0 or match is None:
            return [f"{po}: msgfmt failed: {result.stderr.strip()}"]
        if match["fuzzy"] or match["untranslated"]:
            return [f"{po}: {summary}"]
        return []
