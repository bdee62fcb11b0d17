"""One-part MOs of a batch: stored once each, re-deliveries recognised within the dedup window.

Run on both databases: PostgreSQL stores a batch with its own statements
(gateway.smpp.reassembly._SEEN_PG and _STORE_PG), SQLite with SQLAlchemy's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.smpp.config import LinkConfig
from gateway.smpp.mo import MoMessage
from gateway.smpp.reassembly import store_singles
from models.db import session_scope
from models.inbound import InboundMessage

LINK = LinkConfig(name="telco", host="127.0.0.1", port=1, system_id="s", password="p")
START = datetime.fromtimestamp(1_000 * LINK.mo_dedup_s).astimezone()  # a dedup window begins


def _mo(sender: str, text: str) -> MoMessage:
    return MoMessage(sender, "1708", 0, text.encode(), None)


def _store(mos: list[MoMessage], now: datetime) -> list[int | None]:
    with session_scope() as session:
        return store_singles(session, LINK, mos, now)


def _stored() -> list[tuple[str, str]]:
    with session_scope() as session:
        rows = session.query(InboundMessage).order_by(InboundMessage.id)
        return [(row.sender, row.text) for row in rows]


def test_a_batch_stores_each_mo_once_and_a_copy_within_it_not_again(db: object) -> None:
    first, copy, other = (
        _mo("6281111", "Jalan rusak"),
        _mo("6281111", "Jalan rusak"),
        _mo("6282222", "Jalan rusak"),
    )
    ids = _store([first, copy, other], START)
    assert ids[0] is not None and ids[2] is not None and ids[0] != ids[2]
    assert ids[1] is None
    assert _stored() == [("+6281111", "Jalan rusak"), ("+6282222", "Jalan rusak")]


def test_a_redelivery_in_the_next_window_is_recognised_but_not_after_it(db: object) -> None:
    mo = _mo("6283333", "Pungli di kantor desa")
    window = timedelta(seconds=LINK.mo_dedup_s)
    assert _store([mo], START + window / 2)[0] is not None
    assert _store([mo], START + window / 2) == [None]  # the same window
    assert _store([mo], START + window * 1.2) == [None]  # the next one, within mo_dedup_s
    assert _store([mo], START + window * 2.6)[0] is not None  # long after: the citizen again
    assert len(_stored()) == 2
