"""Channel types as small plug-ins: each brings its webhook blueprint and its sender."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from flask import Blueprint

from config.settings import Settings
from models.outbox import OutboundClaim


class SendError(Exception):
    """A send that did not reach the carrier."""


class TemporarySendError(SendError):
    """Worth retrying later (network, 5xx, throttling)."""


class PermanentSendError(SendError):
    """Retrying cannot help (invalid number, rejected credentials, 4xx)."""


class Sender(Protocol):
    def send(self, claim: OutboundClaim) -> list[str]:
        """Hand the message to the carrier; return its message ids, one per segment."""


SenderFactory = Callable[[Settings, str], Sender]


def blueprints() -> list[Blueprint]:
    from gateway.channels.http_partner.webhook import bp as partner_bp
    from gateway.channels.simulator.webhook import bp as simulator_bp
    from gateway.channels.twilio.webhook import bp as twilio_bp
    from gateway.channels.ussd.webhook import bp as ussd_bp

    return [twilio_bp, partner_bp, simulator_bp, ussd_bp]


def sender_factories() -> dict[str, SenderFactory]:
    from gateway.channels.http_partner.sender import PartnerSender
    from gateway.channels.simulator.sender import LocalSender
    from gateway.channels.twilio.sender import TwilioSender

    return {
        "twilio": TwilioSender.from_settings,
        "http": PartnerSender.from_settings,
        "sim": LocalSender.from_settings,
        "open311": LocalSender.from_settings,
    }
