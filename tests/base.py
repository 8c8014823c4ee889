"""Test client and base test classes: Django's, with a test client that says which browser it is.

Django's client sends no User-Agent, which the risk engine rightly reads as a script. The client
here sends a current desktop Chrome's unless a test passes ``HTTP_USER_AGENT`` (or a
``User-Agent`` header) itself, as a test about scripts or an empty agent does. Test classes get
it through Django's public ``client_class``; code that makes its own client uses
``BrowserClient`` (imported as ``Client``).
"""

from __future__ import annotations

from django import test
from django.test.client import Client, RequestFactory

TEST_CLIENT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


class BrowserClient(Client):
    """Django's test client with a browser's User-Agent on every request unless the test sets one."""

    def __init__(self, *args, **defaults) -> None:
        defaults.setdefault("HTTP_USER_AGENT", TEST_CLIENT_USER_AGENT)
        super().__init__(*args, **defaults)


class BrowserRequestFactory(RequestFactory):
    """Django's request factory with a browser's User-Agent unless the test sets one."""

    def __init__(self, **defaults) -> None:
        defaults.setdefault("HTTP_USER_AGENT", TEST_CLIENT_USER_AGENT)
        super().__init__(**defaults)


class SimpleTestCase(test.SimpleTestCase):
    client_class = BrowserClient


class TestCase(test.TestCase):
    client_class = BrowserClient


class TransactionTestCase(test.TransactionTestCase):
    client_class = BrowserClient
