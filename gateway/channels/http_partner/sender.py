"""Replies to an HTTP partner through its send_url, with Kannel's sendsms parameters."""

from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from config.settings import Settings
from gateway.channels import PermanentSendError, TemporarySendError
from gateway.channels.http_partner import Partner, partner_by_name
from models.outbox import OutboundClaim
from models.queues import SEND_TIMEOUT_S

DLR_MASK = "31"  # delivered, undeliverable, queued, accepted, rejected


class PartnerSender:
    def __init__(self, partner: Partner, dlr_base: str) -> None:
        self.partner = partner
        self.dlr_base = dlr_base

    @classmethod
    def from_settings(cls, settings: Settings, link: str) -> PartnerSender:
        partner = partner_by_name(settings, link)
        if partner is None or not partner.send_url:
            raise PermanentSendError(f"HTTP partner {link!r} has no send_url")
        base = settings.public_url or f"http://127.0.0.1:{settings.http_port}"
        return cls(partner, base.rstrip("/") + "/sms/http/dlr")

    def _url(self, claim: OutboundClaim) -> str:
        """send_url keeps its own fixed parameters (username, password); ours are added."""
        dlr_url = (
            self.dlr_base
            + "?"
            + urlencode({"token": self.partner.token, "id": str(claim.id)})
            + "&status=%d"
        )
        parts = urlsplit(self.partner.send_url)
        query = [
            *parse_qsl(parts.query, keep_blank_values=True),
            ("from", claim.sender),
            ("to", claim.recipient),
            ("text", claim.text),
            ("dlr-mask", DLR_MASK),
            ("dlr-url", dlr_url),
        ]
        return urlunsplit(parts._replace(query=urlencode(query)))

    def send(self, claim: OutboundClaim) -> list[str]:
        """Retried only when the request surely never left; an unknown outcome fails the row.

        urlopen wraps what fails while connecting and sending the request in a
        URLError; a timeout or reset while waiting for the answer comes raw, and
        by then the partner may have the message: resending could text twice, so
        it goes up as it is, an unknown outcome (gateway.sending).
        """
        try:
            with urllib.request.urlopen(self._url(claim), timeout=SEND_TIMEOUT_S) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            if exc.code >= 500 or exc.code == 429:
                raise TemporarySendError(f"{self.partner.name} answered {exc.code}") from exc
            raise PermanentSendError(f"{self.partner.name} refused with {exc.code}") from exc
        except urllib.error.URLError as exc:
            raise TemporarySendError(f"{self.partner.name} unreachable: {exc.reason}") from exc
        return [str(claim.id)]
