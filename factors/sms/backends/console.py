"""Development delivery: print the text to a stream (stdout by default).

This backend IS the delivery channel in development, so it prints the whole message, code
included, straight to its own stream, not through logging: the JSON auth log must never carry a
code, and this output must not be mistaken for (or shipped as) a log line. Never configure it in
production; the system check ``factors.W002`` warns when DEBUG is off.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from factors import seams
from factors.sms.base import BaseSmsBackend


class SmsBackend(BaseSmsBackend):
    """Write each message to ``stream``."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self._lock = threading.Lock()

    def send_message(self, *, to: str, body: str) -> str:
        message_id = "console-" + seams.token_bytes(8).hex()
        stream = self.stream or sys.stdout
        with self._lock:
            stream.write(f"--- SMS to {to} ({message_id}) ---\n{body}\n---\n")
            stream.flush()
        return message_id
