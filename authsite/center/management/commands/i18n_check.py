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
            po = locale_dir / code / "LC_MESSAGES" / "django.po"
            if not po.exists():
                problems.append(f"{po}: missing (run makemessages -l {code})")
                continue
            result = subprocess.run(  # noqa: S603 (msgfmt from PATH, a path of ours)
                [msgfmt, "--check", "--statistics", "-o", "/dev/null", str(po)],
                capture_output=True,
                text=True,
                check=False,
            )
            summary = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else ""
            self.stdout.write(f"{code}: {summary}")
            match = _STATISTICS.search(summary)
            if result.returncode != 0 or match is None:
                problems.append(f"{po}: msgfmt failed: {result.stderr.strip()}")
            elif match["fuzzy"] or match["untranslated"]:
                problems.append(f"{po}: {summary}")
        if problems:
            raise CommandError(f"{len(problems)} translation problem(s):\n  " + "\n  ".join(problems))
        self.stdout.write(self.style.SUCCESS("Every template text is marked and every locale is complete."))
