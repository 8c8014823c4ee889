"""Types of user-facing text."""

from __future__ import annotations

from django.utils.functional import Promise

# A text for people: a string, or a lazy translation (gettext_lazy) that becomes one when shown.
StrOrPromise = str | Promise
