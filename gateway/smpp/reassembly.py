"""Storing MO messages: plain ones once, concatenated ones part by part until whole or stale.

Runs inside the link's database transaction; the caller commits, then acks.
SMPP gives an MO no id, so a re-delivery is recognised by its content: the
same sender, recipient and bytes within the link's dedup window (mo_dedup_s).
One-part MOs are stored a batch at a time (store_singles); their row is the
same one models.inbound.store_inbound writes for every other channel.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from gateway.smpp.codec import decode_mo_text
from gateway.smpp.config import LinkConfig
from gateway.smpp.mo import MoMessage
from models.db import InsertSkippingDuplicates, driver_sql, on_postgresql
from models.inbound import InboundMessage, InboundState, store_inbound
from models.mo_parts import SmppMoPart
from models.phone import normalize

GAP = "…"  # stands for parts that never arrived


def _sender(raw: str) -> str:
    return normalize(raw) or raw


def _dedup_keys(link: LinkConfig, mo: MoMessage, now: datetime) -> tuple[str, str]:
    """(this window's external id, the previous window's): a re-delivery matches either."""
    bucket = int(now.timestamp() // link.mo_dedup_s)
    key = f"mo:{mo.digest[:32]}"
    return f"{key}:{bucket}", f"{key}:{bucket - 1}"


# Built once: a link's database thread runs these for every batch, and building the
# expression was a third of their Python time.
_INBOUND = InboundMessage.__table__
_SEEN = select(InboundMessage.external_id).where(
    InboundMessage.channel == bindparam("channel"),
    InboundMessage.link == bindparam("link"),
    InboundMessage.external_id.in_(bindparam("keys", expanding=True)),
    InboundMessage.received_at >= bindparam("since"),
)
_STORE = InsertSkippingDuplicates(_INBOUND, "channel", "link", "external_id").returning(
    _INBOUND.c.external_id, _INBOUND.c.id
)


def store_singles(
    session: Session, link: LinkConfig, mos: list[MoMessage], now: datetime
) -> list[int | None]:
    """Store one-part MOs a batch at a time; per MO its new inbound id, or None for a
    re-delivery (seen in this or the previous dedup window, or earlier in `mos`).

    One INSERT ... ON CONFLICT DO NOTHING for all rows instead of a round trip per
    message is what keeps a busy link's database thread ahead of the SMSC; on
    PostgreSQL the look-up of the previous window's keys is in the same statement.
    """
    keys = [_dedup_keys(link, mo, now) for mo in mos]
    since = now - timedelta(seconds=link.mo_dedup_s)
    rows: dict[str, Single] = {}
    for mo, (key, old) in zip(mos, keys, strict=True):
        rows.setdefault(key, (key, old, _sender(mo.sender), mo.recipient, mo.text()))
    store = _store_pg if on_postgresql(session) else _store
    created = store(session, link, list(rows.values()), now, since)
    return [created.pop(key, None) for key, _ in keys]


Single = tuple[str, str, str, str, str]  # external id, previous window's, sender, recipient, text


def _store(
    session: Session, link: LinkConfig, rows: list[Single], now: datetime, since: datetime
) -> dict[str, int]:
    previous = sorted({old for _, old, *_ in rows})
    params = {"channel": link.channel, "link": link.name, "keys": previous, "since": since}
    seen = set(session.scalars(_SEEN, params))
    values = [
        {
            "channel": link.channel,
            "link": link.name,
            "external_id": external_id,
            "sender": sender,
            "recipient": recipient,
            "text": text,
            "parts": 1,
            "incomplete": False,
            "received_at": now,
            "state": InboundState.RECEIVED,
        }
        for external_id, old, sender, recipient, text in rows
        if old not in seen
    ]
    return dict(session.execute(_STORE, values).tuples().all()) if values else {}


# The same on PostgreSQL, one statement and one SQL text for any batch (models.db.driver_sql):
# the look-up of the previous window's keys is the INSERT's NOT EXISTS, a round trip less
# for every batch. psycopg prepares it and PostgreSQL keeps one plan for every batch, which
# probes the unique index once a key and checks the time on the row it finds (coalesce: a
# condition no index serves). Written with `external_id = ANY(...)` and a plain time
# condition, that one plan, made on statistics taken before a burst, walked
# ix_inbound_messages_received_at through every message the link had received since, on
# every batch (bench_smpp.py: PostgreSQL's CPU a MO at 500/s 0.7 -> 1.0 ms).
_STORE_PG = f"""
INSERT INTO inbound_messages
    (channel, link, received_at, external_id, sender, recipient, text, parts, incomplete, state)
SELECT %(channel)s::text, %(link)s::text, %(now)s, r.external_id, r.sender, r.recipient, r.text, 1, false,
    '{InboundState.RECEIVED}'
FROM unnest(%(keys)s::text[], %(previous)s::text[], %(senders)s::text[],
    %(recipients)s::text[], %(texts)s::text[]) AS r(external_id, previous, sender, recipient, text)
WHERE NOT EXISTS (
    SELECT FROM inbound_messages AS m
    WHERE m.channel = %(channel)s AND m.link = %(link)s AND m.external_id = r.previous
        AND coalesce(m.received_at, m.received_at) >= %(since)s)
ON CONFLICT (channel, link, external_id) DO NOTHING
RETURNING external_id, id
"""


def _store_pg(
    session: Session, link: LinkConfig, rows: list[Single], now: datetime, since: datetime
) -> dict[str, int]:
    columns = dict(zip(_COLUMNS, map(list, zip(*rows, strict=True)), strict=True))
    params = {"channel": link.channel, "link": link.name, "now": now, "since": since, **columns}
    return dict(driver_sql(session, _STORE_PG, params).tuples().all())


_COLUMNS = ("keys", "previous", "senders", "recipients", "texts")  # a Single's, in _STORE_PG


def _decode_parts(parts: list[SmppMoPart], total: int) -> str:
    """Concatenate bytes before decoding (a surrogate or escape pair may span parts)."""
    by_seq = {}
    for part in parts:
        by_seq.setdefault(part.seq, part)
    pieces: list[str] = []
    run = bytearray()
    coding: int | None = None

    def flush() -> None:
        if run and coding is not None:
            pieces.append(decode_mo_text(coding, bytes(run)))
        run.clear()

    for seq in range(1, total + 1):
        part = by_seq.get(seq)
        if part is None:
            flush()
            if not pieces or pieces[-1] != GAP:
                pieces.append(GAP)
            continue
        if part.data_coding != coding:
            flush()
            coding = part.data_coding
        run.extend(part.payload)
    flush()
    return "".join(pieces)


def _assemble(
    session: Session, link: LinkConfig, parts: list[SmppMoPart], incomplete: bool
) -> int | None:
    first = min(parts, key=lambda p: p.id)
    inbound_id, created = store_inbound(
        session,
        channel=link.channel,
        link=link.name,
        external_id=f"mp:{first.id}",
        sender=_sender(first.sender),
        recipient=first.recipient,
        text=_decode_parts(parts, first.total),
        parts=len({p.seq for p in parts}),
        incomplete=incomplete,
        received_at=min(p.received_at for p in parts),
    )
    for part in parts:
        part.inbound_id = inbound_id
    return inbound_id if created else None


def _open_group(
    session: Session, link: LinkConfig, sender: str, recipient: str, ref: int, total: int
) -> list[SmppMoPart]:
    return list(
        session.execute(
            select(SmppMoPart)
            .where(
                SmppMoPart.link == link.name,
                SmppMoPart.sender == sender,
                SmppMoPart.recipient == recipient,
                SmppMoPart.ref == ref,
                SmppMoPart.total == total,
                SmppMoPart.inbound_id.is_(None),
            )
            .order_by(SmppMoPart.id)
        ).scalars()
    )


def store_part(
    session: Session, link: LinkConfig, mo: MoMessage, now: datetime
) -> tuple[list[int], bool]:
    """Store one part; returns (inbound ids created, duplicate?)."""
    assert mo.concat is not None
    digest = mo.digest
    duplicate = session.execute(
        select(SmppMoPart.id).where(SmppMoPart.link == link.name, SmppMoPart.digest == digest)
    ).first()
    if duplicate is not None:
        return [], True
    created: list[int] = []
    group = _open_group(session, link, mo.sender, mo.recipient, mo.concat.ref, mo.concat.total)
    if any(p.seq == mo.concat.seq for p in group):
        # Same position, other bytes: the reference wrapped while an older message was unfinished.
        created += filter(None, [_assemble(session, link, group, incomplete=True)])
        group = []
    part = SmppMoPart(
        link=link.name,
        sender=mo.sender,
        recipient=mo.recipient,
        ref=mo.concat.ref,
        total=mo.concat.total,
        seq=mo.concat.seq,
        data_coding=mo.data_coding,
        payload=mo.payload,
        digest=digest,
        received_at=now,
    )
    session.add(part)
    session.flush()
    group.append(part)
    if {p.seq for p in group} == set(range(1, mo.concat.total + 1)):
        created += filter(None, [_assemble(session, link, group, incomplete=False)])
    return created, False


def expire_stale(session: Session, link: LinkConfig, now: datetime) -> list[int]:
    """Store what arrived of messages whose parts stopped coming, marked incomplete."""
    cutoff = now - timedelta(seconds=link.reassembly_timeout_s)
    stale = session.execute(
        select(SmppMoPart).where(
            SmppMoPart.link == link.name,
            SmppMoPart.inbound_id.is_(None),
            SmppMoPart.received_at < cutoff,
        )
    ).scalars()
    groups: dict[tuple[str, str, int, int], list[SmppMoPart]] = defaultdict(list)
    for part in stale:
        groups[(part.sender, part.recipient, part.ref, part.total)].append(part)
    created: list[int] = []
    for sender, recipient, ref, total in groups:
        parts = _open_group(session, link, sender, recipient, ref, total)
        created += filter(None, [_assemble(session, link, parts, incomplete=True)])
    return created


def purge_assembled(session: Session, link: LinkConfig, now: datetime) -> int:
    """Forget assembled parts once a re-delivery of them is no longer plausible."""
    keep = max(link.mo_dedup_s, link.reassembly_timeout_s)
    result = session.execute(
        delete(SmppMoPart).where(
            SmppMoPart.link == link.name,
            SmppMoPart.inbound_id.is_not(None),
            SmppMoPart.received_at < now - timedelta(seconds=keep),
        )
    )
    return result.rowcount or 0
