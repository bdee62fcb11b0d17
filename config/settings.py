"""Settings read once from the environment (the contract in DESIGN.md).

Everything has an embedded default so that `python app.py` works on a fresh
machine: SQLite and an embedded Redis under `var/`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"


def _json_list(env: Mapping[str, str], name: str) -> list[dict[str, Any]]:
    raw = env.get(name, "").strip()
    if not raw:
        return []
    value = json.loads(raw)
    if not isinstance(value, list):
        raise ValueError(f"{name} must be a JSON list")
    return value


def _json_object(env: Mapping[str, str], name: str) -> dict[str, str]:
    raw = env.get(name, "").strip()
    if not raw:
        return {}
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object")
    return {str(k): str(v) for k, v in value.items()}


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    return default if not raw else raw in ("1", "true", "yes", "on")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return int(env.get(name, default))


@dataclass(frozen=True)
class Settings:
    """One immutable view of the configuration; build a new one to change it."""

    var_dir: Path
    database_url: str
    redis_url: str | None
    http_host: str
    http_port: int
    shortcode: str
    admin_token: str | None
    public_url: str | None
    twilio_account_sid: str | None
    twilio_auth_token: str | None
    twilio_from: str | None
    twilio_api_base: str | None
    # The SharedKey secret of a Twilio Webhooks Rule: requests it signs (header
    # X-Twilio-Webhooks-Signature-Settings, HMAC-SHA256) are checked with it, not the auth token.
    twilio_webhook_shared_key: str | None = None
    smpp_links: list[dict[str, Any]] = field(default_factory=list)
    http_partners: list[dict[str, Any]] = field(default_factory=list)
    log_level: str = "INFO"
    max_text_chars: int = 4000
    complaints_per_hour: int = 10
    outbox_max_attempts: int = 8
    retry_base_s: float = 5.0
    sweep_interval_s: int = 30
    retention_days: int = 0  # erase reporters silent this long (UU 27/2022); 0 keeps everything
    simulator: bool = False  # the phone simulator (/): anyone may text as any number
    open311_keys: dict[str, str] = field(default_factory=dict)  # api_key -> client name
    ussd_token: str | None = None  # the USSD aggregator's shared secret; None: /ussd is open
    smpp_batch_nice: int = 6  # the SMPP link's batching threads yield the CPU (gateway/smpp/cpu.py)

    @property
    def embedded_database(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url


def _with_driver(url: str) -> str:
    """postgres:// and postgresql:// (as hosting providers write them) mean psycopg 3, the
    driver installed; SQLAlchemy would otherwise look for psycopg2."""
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the environment; `environ` lets tests pass their own."""
    env = os.environ if environ is None else environ
    var_dir = Path(env.get("LAPOR_VAR_DIR", ROOT / "var")).resolve()
    database_url = _with_driver(env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'lapor.db'}")
    return Settings(
        var_dir=var_dir,
        database_url=database_url,
        redis_url=env.get("REDIS_URL") or None,
        http_host=env.get("HTTP_HOST", "127.0.0.1"),
        http_port=_int(env, "HTTP_PORT", 8000),
        shortcode=env.get("SHORTCODE", "1708"),
        admin_token=env.get("ADMIN_TOKEN") or None,
        public_url=env.get("PUBLIC_URL") or None,
        twilio_account_sid=env.get("TWILIO_ACCOUNT_SID") or None,
        twilio_auth_token=env.get("TWILIO_AUTH_TOKEN") or None,
        twilio_from=env.get("TWILIO_FROM") or None,
        twilio_api_base=env.get("TWILIO_API_BASE") or None,
        twilio_webhook_shared_key=env.get("TWILIO_WEBHOOK_SHARED_KEY") or None,
        smpp_links=_json_list(env, "SMPP_LINKS"),
        http_partners=_json_list(env, "HTTP_PARTNERS"),
        log_level=env.get("LOG_LEVEL", "INFO"),
        max_text_chars=_int(env, "MAX_TEXT_CHARS", 4000),
        complaints_per_hour=_int(env, "COMPLAINTS_PER_HOUR", 10),
        outbox_max_attempts=_int(env, "OUTBOX_MAX_ATTEMPTS", 8),
        retry_base_s=float(env.get("RETRY_BASE_S", 5.0)),
        sweep_interval_s=_int(env, "SWEEP_INTERVAL_S", 30),
        retention_days=_int(env, "RETENTION_DAYS", 0),
        # On by default only on the embedded database (a demo machine): the simulator
        # lets anyone text as any number, officers included.
        simulator=_flag(env, "SIMULATOR", database_url.startswith("sqlite")),
        open311_keys=_json_object(env, "OPEN311_KEYS"),
        ussd_token=env.get("USSD_TOKEN") or None,
        smpp_batch_nice=_int(env, "SMPP_BATCH_NICE", 6),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
