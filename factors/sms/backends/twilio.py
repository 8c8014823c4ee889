"""Send texts through Twilio's Messages API with the official SDK.

The SDK's default HTTP client has no timeout; this backend always passes one
(``FACTORS_TWILIO_TIMEOUT``), so a slow Twilio cannot hold a worker. Any failure of the SDK
call, including a success reply that is not a message, is an SmsDeliveryError.
"""

from __future__ import annotations

import logging

import requests
from django.core.exceptions import ImproperlyConfigured
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from factors.conf import factors_settings
from factors.sms.base import BaseSmsBackend, SmsDeliveryError

logger = logging.getLogger(__name__)


class SmsBackend(BaseSmsBackend):
    """Twilio Programmable Messaging, via a Messaging Service SID or a From number."""

    http_client_class: type[TwilioHttpClient] = TwilioHttpClient

    def __init__(self) -> None:
        self.account_sid = factors_settings.TWILIO_ACCOUNT_SID
        self.auth_token = factors_settings.TWILIO_AUTH_TOKEN
        self.messaging_service_sid = factors_settings.TWILIO_MESSAGING_SERVICE_SID
        self.from_number = factors_settings.TWILIO_FROM_NUMBER
        if not (self.account_sid and self.auth_token):
            raise ImproperlyConfigured(
                "The twilio SMS backend needs FACTORS_TWILIO_ACCOUNT_SID and FACTORS_TWILIO_AUTH_TOKEN."
            )
        if not (self.messaging_service_sid or self.from_number):
            raise ImproperlyConfigured(
                "The twilio SMS backend needs FACTORS_TWILIO_MESSAGING_SERVICE_SID or FACTORS_TWILIO_FROM_NUMBER."
            )
        self.client = Client(
            self.account_sid,
            self.auth_token,
            http_client=self.make_http_client(timeout=float(factors_settings.TWILIO_TIMEOUT)),
        )

    def make_http_client(self, *, timeout: float) -> TwilioHttpClient:
        """Return the SDK's HTTP client with an explicit timeout and no retries."""
        return self.http_client_class(timeout=timeout)

    def send_message(self, *, to: str, body: str) -> str:
        sender = (
            {"messaging_service_sid": self.messaging_service_sid}
            if self.messaging_service_sid
            else {"from_": self.from_number}
        )
        try:
            message = self.client.messages.create(to=to, body=body, **sender)
        except TwilioException as exc:
            # TwilioRestException (HTTP 4xx/5xx) carries Twilio's code; the body stays out.
            status = getattr(exc, "status", None)
            code = getattr(exc, "code", None)
            raise SmsDeliveryError(f"Twilio refused the message (status={status}, code={code})") from exc
        except requests.RequestException as exc:
            # ReadTimeout, ConnectTimeout, ConnectionError (refused, DNS) and the like.
            raise SmsDeliveryError(f"Twilio unreachable ({type(exc).__name__})") from exc
        except Exception as exc:
            # Anything else the SDK raises, e.g. the ValueError of json.loads on a 2xx body that is an
            # HTML page from a proxy or truncated. Only the type: such texts may quote the reply.
            raise SmsDeliveryError(f"Twilio call failed ({type(exc).__name__})") from exc
        sid = getattr(message, "sid", None)
        if not isinstance(sid, str) or not sid:
            raise SmsDeliveryError("Twilio reply carries no message sid")
        return sid
