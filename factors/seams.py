"""The randomness seams of the factors app, one function each (docs/house-rules.md, rule 3).

Tests patch these functions (``mock.patch("factors.seams.token_bytes", ...)``); all code in the
app calls them through the module (``seams.token_bytes()``) so a patch is seen everywhere. Time
comes from the project's one clock, ``authsite.core.clock.now``, which tests patch instead of sleeping.
"""

from __future__ import annotations

import secrets


def token_bytes(n: int) -> bytes:
    """Return ``n`` random bytes from the operating system's CSPRNG."""
    return secrets.token_bytes(n)


def random_digits(length: int) -> str:
    """Return a string of ``length`` uniformly random decimal digits."""
    return "".join(str(secrets.randbelow(10)) for _ in range(length))
