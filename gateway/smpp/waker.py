"""Wake-ups off the link's database thread: one call for whatever was committed meanwhile."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from gateway.smpp.cpu import yield_to_filing

log = logging.getLogger(__name__)


class Waker(threading.Thread):
    """Calls `wake(ids)` in its own thread, once for every id put since its last call.

    After each commit the database thread has the stored MOs handled (a
    Redis round trip, and RQ's enqueue when no job waits); done there, that
    held up the next batch, and the deliver_sm the SMSC waits on behind it.
    A wake that fails or never happens is only late: the sweep finds every
    stored message nobody was told of.
    """

    def __init__(self, name: str, wake: Callable[[list[int]], None]) -> None:
        super().__init__(name=name, daemon=True)
        self._wake = wake
        self._pending: list[int] = []
        self._closing = False
        self._changed = threading.Condition()

    def put(self, ids: list[int]) -> None:
        with self._changed:
            self._pending += ids
            self._changed.notify()

    def close(self, timeout_s: float) -> None:
        """Make the last call for what is pending, then end."""
        with self._changed:
            self._closing = True
            self._changed.notify()
        self.join(timeout_s)

    def run(self) -> None:
        yield_to_filing()
        while True:
            with self._changed:
                while not self._pending and not self._closing:
                    self._changed.wait()
                ids, self._pending = self._pending, []
            if ids:
                try:
                    self._wake(ids)
                except Exception:
                    log.warning("%s: wake for %d ids failed", self.name, len(ids), exc_info=True)
            elif self._closing:
                return
