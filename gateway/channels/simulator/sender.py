"""Replies to simulated handsets: nothing leaves the machine.

The outbox row itself is the handset's inbox: marking it sent (with a
sim-<id> message id) is all a delivery means here. Open311 clients, who
poll for status instead of receiving SMS, are "sent" the same way.
"""

from __future__ import annotations

from config.settings import Settings
from models.outbox import OutboundClaim


class LocalSender:
    @classmethod
    def from_settings(cls, _settings: Settings, _link: str) -> LocalSender:
        return cls()

    def send(self, claim: OutboundClaim) -> list[str]:
        return [f"sim-{claim.id}"]
