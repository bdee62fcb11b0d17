"""A database outage in a link's log: one warning when it starts, a summary every
REPORT_EVERY_S while it lasts, one line when it ends; not a line for every batch."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping

REPORT_EVERY_S = 10.0


class OutageLog:
    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.log = logger
        self.what = what  # "link X: database" or similar, as the lines begin
        self.since: float | None = None
        self.reported_at = 0.0
        self.counts: Counter[str] = Counter()  # what happened since the last line

    def down(self, exc: BaseException, counts: Mapping[str, int] | None = None) -> None:
        """Another failure: logged if it is the first or the last line is old.

        `counts`: what this failure did, by what the log line should call it.
        """
        now = time.monotonic()
        self.counts.update(counts or {})
        if self.since is None:
            self.since = now
        elif now - self.reported_at < REPORT_EVERY_S:
            return
        if self.reported_at < self.since:
            self.log.warning(
                "%s unavailable (%s)%s", self.what, type(exc).__name__, self._happened()
            )
        else:
            self.log.warning(
                "%s still unavailable after %.0f s (%s)%s",
                self.what,
                now - self.since,
                type(exc).__name__,
                self._happened(),
            )
        self.reported_at = now
        self.counts.clear()

    def up(self) -> None:
        """It answered again: one line if it had been away."""
        if self.since is None:
            return
        self.log.warning(
            "%s available again after %.0f s%s",
            self.what,
            time.monotonic() - self.since,
            self._happened(),
        )
        self.since = None
        self.counts.clear()

    def _happened(self) -> str:
        done = ", ".join(f"{n} {name}" for name, n in self.counts.items() if n)
        return f"; since the last line: {done}" if done else ""
