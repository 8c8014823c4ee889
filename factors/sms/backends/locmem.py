"""Test double: keep sent messages in ``factors.sms.backends.locmem.outbox``."""

from __future__ import annotations

from dataclasses import dataclass

from factors.sms.base import BaseSmsBackend, SmsDeliveryError


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str
    message_id: str


outbox: list[SmsMessage] = []


class SmsBackend(BaseSmsBackend):
    """Append each message to the module-level ``outbox``.

    Set ``SmsBackend.fail = True`` in a test to simulate a provider outage.
    """

    fail = False

    def send_message(self, *, to: str, body: str) -> str:
        if type(self).fail:
            raise SmsDeliveryError("locmem backend set to fail")
        message = SmsMessage(to=to, body=body, message_id=f"locmem-{len(outbox) + 1}")
        outbox.append(message)
        return message.message_id
