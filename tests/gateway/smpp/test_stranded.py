"""A link taken out of SMPP_LINKS, or whose process is gone: its news still reaches citizens,
and operators see it is down.

A complaint's status changes go back the way it came in, for as long as it
is open. Each link reports itself every 10 s; the sweep moves what waits
for a link nobody runs to one that runs.
"""

from __future__ import annotations

import json
import signal
import time
from dataclasses import asdict
from datetime import timedelta

import pytest
from sqlalchemy import select

from gateway.smpp import link as link_module
from gateway.smpp.config import LinkConfig
from gateway.smpp.link import Link
from gateway.smpp.simulator import SimulatorThread
from models.queues import LINK_SILENT_S, link_states
from models.sweep import STRANDED_AFTER
from tests.gateway.smpp.conftest import Inbox, SmppProcess, link_config, wait_bound
from tests.gateway.smpp.test_e2e import acked, complaints, replies_to

from support import start_role, stop_role, wait_for

CITIZEN = "6281234500077"
NEWS = "Petugas kami akan datang memeriksa jalan itu besok pagi."


def _officer_replies(tracking: int) -> None:
    """An officer's BALAS for the complaint: it goes back over the link the complaint came in on."""
    from models import actions
    from models.complaints import Complaint
    from models.db import session_scope

    with session_scope() as session:
        complaint = session.execute(
            select(Complaint).where(Complaint.tracking_number == tracking)
        ).scalar_one()
        actions.tell_reporter(
            session,
            complaint,
            template="citizen_officer_reply",
            key="test:officer-reply",
            agency="Dinas PUPR",
            message=NEWS,
        )


def _news_row() -> tuple[str, str]:
    """(status, link) of the officer's reply in the outbox."""
    from models.db import session_scope
    from models.outbox import OutboundMessage

    with session_scope() as session:
        row = session.execute(
            select(OutboundMessage.status, OutboundMessage.link).where(
                OutboundMessage.idempotency_key == "test:officer-reply"
            )
        ).one()
        return row.status, row.link


def _sweep_later() -> int:
    """The sweep as it runs once the row has waited past STRANDED_AFTER."""
    from models.base import utcnow
    from models.sweep import sweep_messages

    return sweep_messages(now=utcnow() + STRANDED_AFTER + timedelta(seconds=1)).moved_outbound


def _silent_for(name: str, how_long: timedelta) -> None:
    """As if the link's process had stopped `how_long` ago."""
    from models.queues import LINK_STATE_KEY, get_redis

    for field, raw in get_redis().hgetall(LINK_STATE_KEY).items():
        if field.decode().startswith(f"{name}@"):
            state = json.loads(raw)
            state["at"] -= how_long.total_seconds()
            get_redis().hset(LINK_STATE_KEY, field, json.dumps(state))


def _filed_over(sim: SimulatorThread, smpp_process: SmppProcess, old: LinkConfig) -> int:
    """A complaint filed over `old`, then `old` taken out: its process stops. The tracking number."""
    proc = smpp_process(old)
    wait_bound(old.name)
    acked(sim.push(CITIZEN, b"Jalan rusak parah di Kecamatan Lubuk Sikaping Kabupaten Pasaman"))
    ((tracking, _, _),) = wait_for(complaints, timeout_s=20)
    wait_for(lambda: replies_to(sim, CITIZEN), timeout_s=20)  # the acknowledgement
    assert stop_role(proc) == 0
    return tracking


def test_news_for_a_link_taken_out_goes_through_the_link_that_replaced_it(
    sim: SimulatorThread, smpp_process: SmppProcess
) -> None:
    old = link_config(sim)
    tracking = _filed_over(sim, smpp_process, old)
    new = link_config(sim)  # the operator renamed the link: the same SMSC, another name
    smpp_process(new)
    wait_bound(new.name)
    _officer_replies(tracking)
    time.sleep(1.5)  # the new link polls the outbox every second: it does not take the row
    assert _news_row()[0] == "queued" and len(replies_to(sim, CITIZEN)) == 1
    assert _sweep_later() == 0  # stopped a moment ago: a restart, as far as anyone knows
    _silent_for(old.name, STRANDED_AFTER + timedelta(seconds=1))
    assert _sweep_later() == 1
    wait_for(lambda: len(replies_to(sim, CITIZEN)) == 2, timeout_s=10)
    assert NEWS in replies_to(sim, CITIZEN)[1].text()
    # the row read once: a receipt may turn "sent" into "delivered" between two reads
    status, link = wait_for(lambda: (row := _news_row())[0] in ("sent", "delivered") and row)
    assert link == new.name, status


def test_news_waits_while_no_link_runs(sim: SimulatorThread, smpp_process: SmppProcess) -> None:
    old = link_config(sim)
    tracking = _filed_over(sim, smpp_process, old)
    _officer_replies(tracking)
    assert _sweep_later() == 0
    assert _news_row() == ("queued", old.name)  # kept for when a link runs again


def test_a_running_link_that_cannot_bind_keeps_its_news(
    sim: SimulatorThread, smpp_process: SmppProcess
) -> None:
    """A telco's SMSC being down is not a link taken out: its replies wait for it."""
    tracking = _filed_over(sim, smpp_process, link_config(sim))
    refused = link_config(sim, password="rotated")
    smpp_process(refused)
    wait_for(lambda: sim.sim.refused_binds >= 1, timeout_s=10)
    other = link_config(sim)
    smpp_process(other)
    wait_bound(other.name)
    from models.db import session_scope
    from models.outbox import OutboundMessage

    _officer_replies(tracking)
    with session_scope() as session:  # the complaint came in over the link that cannot bind
        session.execute(
            OutboundMessage.__table__.update()
            .where(OutboundMessage.idempotency_key == "test:officer-reply")
            .values(link=refused.name)
        )
    assert _sweep_later() == 0
    assert _news_row() == ("queued", refused.name)
    assert link_states()[refused.name]["running"] and not link_states()[refused.name]["bound"]


def test_a_running_link_reports_itself_and_a_stopped_one_is_down(
    sim: SimulatorThread, smpp_db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.queues import get_redis

    monkeypatch.setattr(link_module, "HEARTBEAT_S", 0.2)
    config = link_config(sim)
    link = Link(config, redis=get_redis(), on_inbound=Inbox(config.name, answer=False))
    link.start()
    try:
        wait_bound(config.name)
        said_at = link_states()[config.name]["at"]
        wait_for(lambda: link_states()[config.name]["at"] > said_at, timeout_s=5)
        state = link_states()[config.name]
        assert state["running"] and state["bound"]
        # Silent past LINK_SILENT_S (its process killed): down, whatever it said last.
        later = link_states(now=time.time() + LINK_SILENT_S + 1)[config.name]
        assert not later["running"] and not later["bound"]
    finally:
        link.stop(timeout_s=5)
    assert not link_states()[config.name]["running"]


def test_a_link_two_processes_run_stays_up_when_one_stops(
    sim: SimulatorThread, smpp_db: dict[str, str]
) -> None:
    """The old process of a deploy stops after the new one bound: the link never shows down
    (nor, to the sweep, as a link nobody runs)."""
    from models.queues import get_redis

    config = link_config(sim)
    old, new = (
        Link(config, redis=get_redis(), on_inbound=Inbox(config.name, answer=False))
        for _ in range(2)
    )

    def processes() -> dict[str, dict[str, object]]:
        return link_states().get(config.name, {}).get("processes", {})

    old.start()
    new.start()
    try:
        wait_for(lambda: len(processes()) == 2 and all(p["bound"] for p in processes().values()))
        old.stop(timeout_s=5)
        state = link_states()[config.name]
        assert state["running"] and state["bound"]
        assert state["processes"][old.process]["running"] is False
        assert state["processes"][new.process]["bound"] is True
    finally:
        old.stop(timeout_s=5)
        new.stop(timeout_s=5)
    assert not link_states()[config.name]["running"]


def test_a_killed_link_process_shows_down_in_metrics(
    sim: SimulatorThread, db: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """It used to show bound for ever: nothing was left to say otherwise."""
    import models.queues
    from app import create_app

    link = link_config(sim)
    proc = start_role({**db, "SMPP_LINKS": json.dumps([asdict(link)])}, "smpp")
    try:
        wait_bound(link.name)
        metrics = create_app().test_client()
        assert f'lapor_link_up{{link="{link.name}"}} 1.0' in metrics.get("/metrics").text
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    monkeypatch.setattr(models.queues, "LINK_SILENT_S", 1.0)
    time.sleep(1.2)
    assert f'lapor_link_up{{link="{link.name}"}} 0.0' in metrics.get("/metrics").text
