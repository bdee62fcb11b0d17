"""A telco repeating a delivery must not create a second message."""

from __future__ import annotations

from sqlalchemy import func, select

from models import actions
from models.db import session_scope
from models.inbound import InboundMessage, store_inbound

from support import statements_sent


def _deliver(external_id: str = "abc-1", text: str = "jalan rusak") -> tuple[int, bool]:
    with session_scope() as session:
        return store_inbound(
            session,
            channel="http",
            link="partner-a",
            external_id=external_id,
            sender="+628113643123",
            recipient="1708",
            text=text,
        )


def _count() -> int:
    with session_scope() as session:
        return session.scalar(select(func.count()).select_from(InboundMessage)) or 0


def test_repeated_delivery_stores_one_row(db: dict[str, str]) -> None:
    first_id, created = _deliver()
    again_id, created_again = _deliver()
    assert created and not created_again
    assert again_id == first_id
    assert _count() == 1


def test_same_id_on_another_link_is_another_message(db: dict[str, str]) -> None:
    _deliver()
    with session_scope() as session:
        _, created = store_inbound(
            session,
            channel="http",
            link="partner-b",
            external_id="abc-1",
            sender="+628113643123",
            recipient="1708",
            text="jalan rusak",
        )
    assert created
    assert _count() == 2


def test_text_is_stored_verbatim(db: dict[str, str]) -> None:
    hostile = "'); DROP TABLE complaints; -- \u202e 😀"
    inbound_id, _ = _deliver("x-2", hostile)
    with session_scope() as session:
        assert session.get(InboundMessage, inbound_id).text == hostile


def test_a_groups_new_reporters_are_inserted_in_one_statement(db: dict[str, str]) -> None:
    """Every text of a busy link's group may come from someone new: not a statement each."""
    addresses = [f"0812{n:08d}" for n in range(30)]
    with statements_sent() as sent, session_scope() as session:
        reporters = actions.ensure_reporters(session, [*addresses, "+62" + addresses[0][1:]])
    assert len(reporters) == 30
    assert all(reporter.id for reporter in reporters.values())
    # One INSERT ... ON CONFLICT DO UPDATE: the new ones inserted, the known ones locked.
    assert [many for _, many in sent] == [False], sent


def test_known_and_new_reporters_come_back_from_one_statement(db: dict[str, str]) -> None:
    """A group of people who texted before and people who did not: one statement for both,
    and the known ones are the rows they were (their ids, their blocked flag)."""
    with session_scope() as session:
        known = actions.ensure_reporters(session, ["081200000001", "081200000002"])
        known["+6281200000002"].blocked = True
    with statements_sent() as sent, session_scope() as session:
        reporters = actions.ensure_reporters(
            session, ["+6281200000001", "6281200000002", "0812000003"]
        )
    assert len(sent) == 1
    assert {key: r.id for key, r in reporters.items() if key in known} == {
        key: r.id for key, r in known.items()
    }
    assert [reporters[key].blocked for key in sorted(known)] == [False, True]
    assert len(reporters) == 3
