"""The SMS backend interface."""

from __future__ import annotations


class SmsDeliveryError(Exception):
    """The text could not be handed to the provider.

    The caller shows "We couldn't send a text right now; choose another way" and offers the
    other factors. The message of this exception is for logs: it never contains the text's body.
    """


class BaseSmsBackend:
    """Send one text message. Subclasses implement ``send_message``."""

    def send_message(self, *, to: str, body: str) -> str:
        """Send ``body`` to ``to`` (E.164); return a message id.

        Any failure, whatever the provider's client raised, is an SmsDeliveryError: the caller
        catches nothing else.
        """
        raise NotImplementedError
