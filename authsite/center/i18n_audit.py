"""Find text in the project's templates that does not go through the translation machinery.

Each template is split by Django's own lexer; what lies outside ``{% translate %}``,
``{% blocktranslate %}`` and comments is read as HTML, and every text node, and the attributes
people read or hear (``title``, ``alt``, ``placeholder``, ``aria-label``, the ``value`` of a
button), must hold no words. Brand names and codes are listed in ``NOT_TRANSLATED``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from django.template.base import Lexer, TokenType

# Words that are the same in every language: the product's name and technical abbreviations.
NOT_TRANSLATED = frozenset({"Adaptive MFA", "UTC"})
READ_ATTRIBUTES = frozenset({"title", "alt", "placeholder", "aria-label", "aria-description", "label"})
BUTTON_INPUTS = frozenset({"submit", "button", "reset"})
_WORD = re.compile(r"[^\W\d_]{2,}")
_HOLE = " "  # where a {{ variable }} or {% tag %} was: never a word
# Blocks that hold CSS class names, not text.
CLASS_BLOCKS = frozenset({"main_class", "bodyclass"})


@dataclass(frozen=True)
class Unmarked:
    template: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.template}:{self.line}: {self.text!r} is not marked for translation"


def _outside_translation(source: str) -> list[tuple[str, int]]:
    """Return the text of ``source`` outside translation tags and comments, with line numbers."""
    pieces: list[tuple[str, int]] = []
    depth = 0  # inside blocktranslate ... endblocktranslate, comment ... endcomment, a class block
    in_class_block = False
    for token in Lexer(source).tokenize():
        if token.token_type is TokenType.BLOCK:
            name, *args = token.contents.split()
            if name in ("blocktranslate", "blocktrans", "comment"):
                depth += 1
            elif name in ("endblocktranslate", "endblocktrans", "endcomment"):
                depth -= 1
            elif name == "block" and args and args[0] in CLASS_BLOCKS:
                depth += 1
                in_class_block = True
            elif name == "endblock" and in_class_block:
                depth -= 1
                in_class_block = False
            pieces.append((_HOLE, token.lineno))
        elif token.token_type is TokenType.TEXT and not depth:
            pieces.append((token.contents, token.lineno))
        else:
            pieces.append((_HOLE, token.lineno))
    return pieces


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._skip = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        values = dict(attrs)
        for name, value in attrs:
            readable = name in READ_ATTRIBUTES or (
                name == "value" and tag == "input" and values.get("type") in BUTTON_INPUTS
            )
            if readable and value:
                self.found.append((self.getpos()[0], value))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            # getpos() is where the data starts, often the newline before the words
            leading = data[: len(data) - len(data.lstrip())]
            self.found.append((self.getpos()[0] + leading.count("\n"), data))


def _has_words(text: str) -> bool:
    for kept in NOT_TRANSLATED:
        text = text.replace(kept, " ")
    return bool(_WORD.search(text.replace(_HOLE, " ")))


def audit_template(path: Path, name: str) -> list[Unmarked]:
    """Return the unmarked texts of one template (HTML, or plain text for ``.txt`` emails)."""
    pieces = _outside_translation(path.read_text(encoding="utf-8"))
    if path.suffix == ".txt":
        return [
            Unmarked(name, line, text.strip())
            for text, line in pieces
            for text in [text.replace(_HOLE, " ")]
            if _has_words(text)
        ]
    # Lines of the joined text map back to the template: holes stand for tags on one line, and a
    # tag spanning lines is rare enough in these templates to be ignored.
    joined = "".join(text for text, _ in pieces)
    collector = _TextCollector()
    collector.feed(joined)
    collector.close()
    return [Unmarked(name, line, " ".join(text.split())) for line, text in collector.found if _has_words(text)]


def audit_templates(directories: list[Path]) -> list[Unmarked]:
    """Return every unmarked text in the ``.html`` and ``.txt`` templates under ``directories``."""
    problems: list[Unmarked] = []
    for directory in directories:
        for path in sorted(directory.rglob("*")):
            if path.suffix in (".html", ".txt") and path.is_file():
                problems += audit_template(path, str(path.relative_to(directory)))
    return problems
