"""The inbound job: many messages a transaction, a failing one alone rolled back and marked failed."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from handlers import jobs
from models.complaints import Complaint
from models.db import session_scope
from models.inbound import InboundMessage, store_inbound

from channels import count

TEXTS = {
    "+6281234560001": "Jalan rusak di Kota Padang",
    "+6281234560002": "Sampah menumpuk di pasar Kota Bukittinggi",
    "+6281234560003": "Lampu jalan mati di Kabupaten Agam",
}


def _store() -> dict[str, int]:
    with session_scope() as session:
        return {
            sender: store_inbound(
                session,
                channel="http",
                link="telco-a",
                external_id=f"group-{sender}",
                sender=sender,
                recipient="1708",
                text=text,
            )[0]
            for sender, text in TEXTS.items()
        }


def test_a_group_is_handled_in_one_go(db: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    ids = _store()
    with caplog.at_level(logging.WARNING, logger="handlers.jobs"):
        jobs.process_inbound(list(ids.values())[::-1])
    assert "one by one" not in caplog.text
    assert count(InboundMessage, InboundMessage.state == "processed") == len(TEXTS)
    with session_scope() as session:
        assert set(session.scalars(select(Complaint.text))) == set(TEXTS.values())


def test_a_failing_message_fails_alone(db: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _store()
    broken = ids["+6281234560002"]
    handle = jobs.handle_group

    def flaky(session, inbounds):  # type: ignore[no-untyped-def]
        if any(inbound.id == broken for inbound in inbounds):
            raise RuntimeError("handler bug")
        return handle(session, inbounds)

    monkeypatch.setattr(jobs, "handle_group", flaky)
    jobs.process_inbound(list(ids.values()))
    with session_scope() as session:
        states = dict(
            session.execute(select(InboundMessage.id, InboundMessage.state)).tuples().all()
        )
        filed = set(session.scalars(select(Complaint.text)))
    assert states[broken] == "failed"
    assert [states[i] for i in ids.values() if i != broken] == ["processed", "processed"]
    assert filed == {TEXTS["+6281234560001"], TEXTS["+6281234560003"]}
