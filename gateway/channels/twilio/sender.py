"""Send through Twilio's REST API with the official client (TWILIO_API_BASE may redirect it)."""

from __future__ import annotations

from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ConnectTimeout, RequestException
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import ConnectTimeoutError

from config.settings import Settings
from gateway.channels import PermanentSendError, TemporarySendError
from models.outbox import OutboundClaim
from models.queues import SEND_TIMEOUT_S


class TwilioSender:
    def __init__(self, client: Client, from_: str, status_callback: str | None) -> None:
        self.client = client
        self.from_ = from_
        self.status_callback = status_callback

    @classmethod
    def from_settings(cls, settings: Settings, link: str) -> TwilioSender:
        if not (settings.twilio_account_sid and settings.twilio_auth_token):
            raise PermanentSendError("TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN not configured")
        client = Client(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            # Without a timeout a Twilio that never answers holds the send job until RQ kills it.
            http_client=TwilioHttpClient(timeout=SEND_TIMEOUT_S),
        )
        if settings.twilio_api_base:
            client.api.base_url = settings.twilio_api_base.rstrip("/")
        callback = (
            settings.public_url.rstrip("/") + "/sms/twilio/status" if settings.public_url else None
        )
        return cls(client, settings.twilio_from or settings.shortcode, callback)

    def send(self, claim: OutboundClaim) -> list[str]:
        """Retried only when the request surely never left; an unknown outcome fails the row."""
        kwargs = {"to": claim.recipient, "from_": self.from_, "body": claim.text}
        if self.status_callback:
            kwargs["status_callback"] = self.status_callback
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            if exc.status in (429,) or exc.status >= 500:
                raise TemporarySendError(f"twilio {exc.status}: {exc.msg}") from exc
            raise PermanentSendError(f"twilio {exc.status} code {exc.code}: {exc.msg}") from exc
        except RequestException as exc:
            if _not_connected(exc):
                raise TemporarySendError(f"twilio unreachable: {exc}") from exc
            raise  # Twilio may have it: an unknown outcome (gateway.sending)
        return [message.sid]


def _not_connected(exc: RequestException) -> bool:
    """True when the connection was never made (refused, unresolved, connect timeout): the
    request cannot have reached Twilio. A ReadTimeout or a dropped connection may have."""
    if isinstance(exc, ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    # urllib3's NewConnectionError and NameResolutionError are ConnectTimeoutErrors too.
    return isinstance(exc, RequestsConnectionError) and isinstance(reason, ConnectTimeoutError)
