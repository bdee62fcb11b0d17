"""SMPP link configuration from SMPP_LINKS (a JSON list), parsed once into typed values."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

from config.settings import get_settings

BindMode = Literal["trx", "txrx"]


@dataclass(frozen=True)
class LinkConfig:
    """One telco link. Timers in seconds; `tps` is the SMSC's limit for the whole link."""

    name: str
    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    bind: BindMode = "trx"
    tps: float = 10.0
    window: int = 10
    hold: int = 0  # outbox rows held at once (claimed, outcome not committed); 0: 2 x window
    source_ton: int = 0
    source_npi: int = 0
    dest_ton: int = 1
    dest_npi: int = 1
    enquire_link_s: float = 30.0
    response_timeout_s: float = 30.0
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    reassembly_timeout_s: float = 300.0
    mo_dedup_s: float = 600.0
    registered_delivery: int = 1
    channel: str = "smpp"

    def __post_init__(self) -> None:
        if self.bind not in ("trx", "txrx"):
            raise ValueError(f"link {self.name}: bind must be 'trx' or 'txrx', not {self.bind!r}")
        if self.tps <= 0 or self.window < 1:
            raise ValueError(f"link {self.name}: tps must be > 0 and window >= 1")
        if self.hold and self.hold < self.window:
            raise ValueError(f"link {self.name}: hold must be 0 (2 x window) or >= window")

    @property
    def capacity(self) -> int:
        """Outbox rows the link may hold: a window in flight and as many ready behind it.

        With only a window held, the window stood empty while the database
        thread committed the outcomes and the feeder claimed the next rows (a
        saturated link then queued replies for a second, bench/bench_smpp.py).
        It is also what a kill -9 can leave in doubt for the sweep to fail.
        """
        return self.hold or 2 * self.window


_FIELDS = {f.name: f for f in fields(LinkConfig)}


def parse_link(raw: dict[str, Any]) -> LinkConfig:
    """One entry of SMPP_LINKS; unknown keys are an error (a typo must not pass silently)."""
    unknown = set(raw) - set(_FIELDS)
    if unknown:
        raise ValueError(f"SMPP_LINKS: unknown keys {sorted(unknown)}")
    missing = {"name", "host", "port", "system_id", "password"} - set(raw)
    if missing:
        raise ValueError(f"SMPP_LINKS: missing keys {sorted(missing)}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        kind = _FIELDS[key].type
        if kind == "int":
            values[key] = int(value)
        elif kind == "float":
            values[key] = float(value)
        else:
            values[key] = str(value)
    return LinkConfig(**values)


def load_links(raw: list[dict[str, Any]] | None = None) -> list[LinkConfig]:
    """Every configured link (from the settings unless given); names must be unique."""
    links = [parse_link(item) for item in (get_settings().smpp_links if raw is None else raw)]
    names = [link.name for link in links]
    if len(names) != len(set(names)):
        raise ValueError("SMPP_LINKS: link names must be unique")
    return links
