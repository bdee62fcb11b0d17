"""The link's batching threads yield the CPU to the workers' filing when the machine is busy.

A link's database thread, outbox feeder and wake-up thread each take
whatever waits when they run: later, they take more at once, for the same
cost a batch. A worker filing in its turn (handlers/jobs.py claim_group) is
serial: every millisecond it waits for the CPU, every waiting MO waits too,
and the next group grows. On a machine the roles share, Linux gives each
runnable thread an equal share; these threads at a lower priority (a higher
nice value) leave the filing turn the CPU first, and the socket threads,
which answer the SMSC, keep theirs. bench/bench_smpp.py at 500 MO/s in a slow
hour, six paced runs interleaved with SMPP_BATCH_NICE=0: p99 133-191 ms
against 145-287 (lower in five pairs of six), a worker's group 10-13 MOs
against 12-24, the link's CPU a MO 0.78 against 0.88 ms (bench/NOTES.md).
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from config.settings import get_settings

log = logging.getLogger(__name__)
LOWEST = 19  # the highest nice value Linux knows


def yield_to_filing() -> None:
    """Lower the calling thread's priority by SMPP_BATCH_NICE (0 leaves it).

    Only on Linux, where a nice value belongs to a thread: elsewhere
    setpriority with a thread's id would name a process.
    """
    niceness = get_settings().smpp_batch_nice
    if niceness <= 0 or sys.platform != "linux":
        return
    thread = threading.get_native_id()
    try:
        now = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(LOWEST, now + niceness))
    except OSError as exc:  # never a reason to stop a link
        log.warning("%s keeps its priority: %s", threading.current_thread().name, exc)
