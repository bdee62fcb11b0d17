"""The link's wake-ups: off the database thread, one call for what was committed meanwhile."""

from __future__ import annotations

import threading

from gateway.smpp.waker import Waker

from support import wait_for


class Recorder:
    """A wake that blocks until released, and records each call's ids."""

    def __init__(self, fail_first: bool = False) -> None:
        self.calls: list[list[int]] = []
        self.release = threading.Event()
        self.fail_first = fail_first

    def __call__(self, ids: list[int]) -> None:
        self.calls.append(ids)
        self.release.wait(5)
        if self.fail_first and len(self.calls) == 1:
            raise ConnectionError("Redis away")


def test_what_is_committed_during_a_wake_is_woken_in_one_call() -> None:
    wake = Recorder()
    waker = Waker("test-wake", wake)
    waker.start()
    waker.put([1])
    wait_for(lambda: wake.calls, timeout_s=5)
    for ids in ([2, 3], [4], [5]):
        waker.put(ids)  # returns at once: the first call is still running
    wake.release.set()
    wait_for(lambda: len(wake.calls) == 2, timeout_s=5)
    waker.close(5)
    assert wake.calls == [[1], [2, 3, 4, 5]]
    assert not waker.is_alive()


def test_closing_wakes_what_is_pending_and_a_failed_wake_is_not_the_end() -> None:
    wake = Recorder(fail_first=True)
    waker = Waker("test-wake", wake)
    waker.start()
    waker.put([1])
    wait_for(lambda: wake.calls, timeout_s=5)
    waker.put([2])
    wake.release.set()  # the first call fails; the thread goes on
    waker.close(5)
    assert wake.calls == [[1], [2]]
    assert not waker.is_alive()
