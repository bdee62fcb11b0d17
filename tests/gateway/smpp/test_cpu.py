"""The link's batching threads run at a lower priority than its socket threads (gateway/smpp/cpu.py)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

import pytest

from config.settings import get_settings
from gateway.smpp.cpu import yield_to_filing
from gateway.smpp.link import Link
from gateway.smpp.simulator import SimulatorThread
from tests.gateway.smpp.conftest import Inbox, link_config, wait_bound


def priority(thread: threading.Thread) -> int:
    assert thread.native_id is not None, f"{thread.name} has not started"
    return os.getpriority(os.PRIO_PROCESS, thread.native_id)


@pytest.fixture()
def batch_nice(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def _set(value: str) -> None:
        monkeypatch.setenv("SMPP_BATCH_NICE", value)
        get_settings.cache_clear()

    yield _set
    get_settings.cache_clear()


def _nice_of_a_thread_that_yields() -> int:
    seen: list[int] = []

    def run() -> None:
        yield_to_filing()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(5)
    return seen[0]


def test_a_thread_that_yields_runs_at_a_lower_priority_and_its_starter_does_not(
    batch_nice: Callable[[str], None],
) -> None:
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    batch_nice("6")
    assert _nice_of_a_thread_that_yields() == min(19, mine + 6)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine
    batch_nice("0")  # an operator who wants none of it
    assert _nice_of_a_thread_that_yields() == mine


def test_a_running_link_lowers_its_batching_threads_not_its_socket(
    sim: SimulatorThread,
    start_link: Callable[..., tuple[Link, Inbox]],
    batch_nice: Callable[[str], None],
) -> None:
    batch_nice("6")
    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    link, _ = start_link(link_config(sim))
    wait_bound(link.config.name)
    assert [priority(link.db), priority(link.feeder), priority(link.waker)] == [
        min(19, mine + 6)
    ] * 3
    assert [priority(session) for session in link.sessions] == [mine]
