"""SMPP fixtures: the smpp34 simulator on a free loopback port, links against it, a fake handler,
and `python app.py smpp` as a real process beside a real worker (the end-to-end tests)."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from typing import Any

import pytest
from sqlalchemy import select

from gateway.smpp.config import LinkConfig
from gateway.smpp.link import Link
from gateway.smpp.simulator import SimulatorThread

from support import start_role, stop_role, wait_for


@pytest.fixture()
def smpp_db(db: dict[str, str]) -> Iterator[dict[str, str]]:
    """The shared clean database (smpp_mo_parts included)."""
    yield db


def link_config(sim: SimulatorThread, **overrides: Any) -> LinkConfig:
    """A link to `sim` with quick timers and a name of its own (Redis keys do not meet)."""
    base = LinkConfig(
        name=f"t{uuid.uuid4().hex[:8]}",
        host="127.0.0.1",
        port=sim.sim.port,
        system_id=sim.sim.system_id,
        password=sim.sim.password,
        tps=1000,
        enquire_link_s=5,
        response_timeout_s=5,
        reconnect_min_s=0.2,
        reconnect_max_s=1.0,
        reassembly_timeout_s=60,
    )
    return replace(base, **overrides)


class Inbox:
    """What the link handed to on_inbound, optionally answering each message like a handler."""

    def __init__(self, link_name: str, answer: bool) -> None:
        self.link_name = link_name
        self.answer = answer
        self.ids: list[int] = []

    def __call__(self, ids: list[int]) -> None:
        self.ids.extend(ids)
        if self.answer:
            reply_to(self.link_name, ids)


def reply_to(link_name: str, inbound_ids: list[int]) -> None:
    """Queue 'Laporan #<id> diterima' for each inbound message, as the handlers do."""
    from models.db import after_commit, session_scope
    from models.inbound import InboundMessage
    from models.outbox import OutboundMessage
    from models.queues import wake_outbox

    with session_scope() as session:
        rows = session.execute(
            select(InboundMessage).where(InboundMessage.id.in_(inbound_ids))
        ).scalars()
        outbound = [
            OutboundMessage(
                recipient=row.sender,
                sender=row.recipient,
                text=f"Laporan #{row.id:07d} diterima. Terima kasih.",
                template="test",
                channel="smpp",
                link=link_name,
                idempotency_key=f"reply:{row.id}",
            )
            for row in rows
        ]
        session.add_all(outbound)
        session.flush()
        woken = [(o.id, "smpp", link_name) for o in outbound]
        after_commit(session, lambda: wake_outbox(woken))


@pytest.fixture()
def start_link(smpp_db: dict[str, str]) -> Iterator[Callable[..., tuple[Link, Inbox]]]:
    """Start a Link (stopped at teardown); returns it with its on_inbound recorder."""
    from models.queues import get_redis

    running: list[Link] = []

    def _start(config: LinkConfig, answer: bool = True) -> tuple[Link, Inbox]:
        inbox = Inbox(config.name, answer)
        link = Link(config, redis=get_redis(), on_inbound=inbox)
        link.start()
        running.append(link)
        return link, inbox

    yield _start
    for link in running:
        link.stop(timeout_s=5)


SmppProcess = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture()
def smpp_process(db: dict[str, str], worker: subprocess.Popen[bytes]) -> Iterator[SmppProcess]:
    """Start `python app.py smpp` for the given links (and extra environment); stopped at teardown.

    The real worker handles what the process stores: replies come from the
    real handlers, through the outbox, back out of the same process.
    """
    running: list[subprocess.Popen[bytes]] = []

    def _start(*links: LinkConfig, **env: str) -> subprocess.Popen[bytes]:
        smpp_links = json.dumps([asdict(link) for link in links])
        proc = start_role({**db, "SMPP_LINKS": smpp_links, **env}, "smpp")
        running.append(proc)
        return proc

    yield _start
    for proc in running:
        assert stop_role(proc) == 0, "the smpp process did not stop cleanly on SIGTERM"


def link_bound(name: str) -> bool:
    """What the link process published about itself in Redis (as /metrics and /healthz read it)."""
    from models.queues import link_states

    state = link_states().get(name)
    return bool(state and state["bound"])  # type: ignore[index]


def wait_bound(name: str, timeout_s: float = 15) -> None:
    wait_for(lambda: link_bound(name), timeout_s=timeout_s)
