"""USSD over HTTP: the aggregator's protocol in front of a menu engine app.py hands us.

gateway/ never imports handlers/: app.py calls `set_menu_engine` with a
callable `(session_id, phone, service_code, text) -> (screen, end)`.
"""

from __future__ import annotations

from collections.abc import Callable

MenuEngine = Callable[[str, str, str, str], tuple[str, bool]]
_engines: list[MenuEngine] = []


def set_menu_engine(engine: MenuEngine) -> None:
    _engines[:] = [engine]


def menu_engine() -> MenuEngine | None:
    return _engines[0] if _engines else None
