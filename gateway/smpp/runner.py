"""`python app.py smpp`: run every configured link until SIGTERM / Ctrl-C."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

from gateway.smpp.config import LinkConfig, load_links
from gateway.smpp.link import Link
from models.queues import get_redis

log = logging.getLogger(__name__)


def start_links(
    on_inbound: Callable[[list[int]], None], links: list[LinkConfig] | None = None
) -> list[Link]:
    """Start the links (all configured ones unless given) and return them running."""
    configs = load_links() if links is None else links
    running = [Link(config, redis=get_redis(), on_inbound=on_inbound) for config in configs]
    for link in running:
        link.start()
        log.info(
            "link %s started (%s to %s:%d)",
            link.config.name,
            link.config.bind,
            link.config.host,
            link.config.port,
        )
    return running


def run_links(on_inbound: Callable[[list[int]], None], stop: threading.Event | None = None) -> None:
    """Block running every configured link; unbind cleanly on SIGTERM, SIGINT or `stop`."""
    stop = stop or threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping SMPP links", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    running = start_links(on_inbound)
    if not running:
        log.warning("SMPP_LINKS is empty: nothing to run")
        return
    stop.wait()
    for link in running:
        link.stop()
