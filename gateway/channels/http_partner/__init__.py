"""Telco partners over HTTP in Kannel's conventions (sms-service get-url in, sendsms out)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from config.settings import Settings

CHANNEL = "http"


@dataclass(frozen=True)
class Partner:
    name: str
    token: str
    send_url: str


def partners(settings: Settings) -> list[Partner]:
    return [
        Partner(str(p["name"]), str(p["token"]), str(p.get("send_url", "")))
        for p in settings.http_partners
    ]


def partner_by_token(settings: Settings, token: str) -> Partner | None:
    """Constant-time comparison: a token is a password."""
    found = None
    for partner in partners(settings):
        if token and hmac.compare_digest(partner.token.encode(), token.encode()):
            found = partner
    return found


def partner_by_name(settings: Settings, name: str) -> Partner | None:
    return next((p for p in partners(settings) if p.name == name), None)


def as_text(value: Any) -> str:
    return "" if value is None else str(value)
