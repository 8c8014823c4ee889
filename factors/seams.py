"""The seams of the factors app: time and randomness, one function each (house rule 3).

Tests patch these functions (``mock.patch("factors.seams.now", ...)``) instead of sleeping; all
code in the app calls them through the module (``seams.now()``) so a patch is seen everywhere.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from authsite.core import clock


def now() -> datetime:
    """Return the current time (aware, UTC), from the project's one clock."""
    return clock.now()


def token_bytes(n: int) -> bytes:
    """Return ``n`` random bytes from the operating system's CSPRNG."""
    return secrets.token_bytes(n)


def random_digits(length: int) -> str:
    """Return a string of ``length`` uniformly random decimal digits."""
    return "".join(str(secrets.randbelow(10)) for _ in range(length))
