"""The link's database thread: group commits of MO, receipts and send outcomes, then the acks.

Everything a deliver_sm (or data_sm) carries is committed before it is answered;
while the database is down the SMSC gets ESME_RX_T_APPN so it re-delivers.
Batching many deliver_sm into one transaction is what keeps a link fast.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import DataError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from gateway.smpp import metrics
from gateway.smpp.config import LinkConfig
from gateway.smpp.cpu import yield_to_filing
from gateway.smpp.mo import BinaryMo, MoMessage
from gateway.smpp.outage import OutageLog
from gateway.smpp.outcomes import Delivered, Outcome
from gateway.smpp.reassembly import expire_stale, purge_assembled, store_part, store_singles
from gateway.smpp.receipts import Receipt, id_candidates
from models.base import utcnow
from models.db import HeldConnection
from models.outbox import ReceiptUpdate, mark_failed, mark_retry, mark_sent_many, record_receipts
from models.phone import mask

log = logging.getLogger(__name__)

ESME_ROK = 0x00
ESME_RX_T_APPN = 0x64  # temporary: the SMSC re-delivers
ESME_RX_P_APPN = 0x65  # permanent: we can never take this one
BATCH = 256
EXPIRE_EVERY_S = 1.0
ORPHAN_KEEP_S = 120.0  # a receipt may overtake its submit_sm_resp; it is retried this long
ORPHAN_MAX = 10_000
PURGE_EVERY_S = 60.0

Item = Delivered | Outcome
# The database is away (not: this item cannot be stored): answer "try again later".
UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)
# The database will never take this content: the one answer that lets the SMSC drop a MO.
# Anything else (a failover's read-only transaction, a bug) asks it to deliver the MO again.
REFUSED = (DataError,)


class DbWorker(threading.Thread):
    """One per link; everything that writes the database for the link goes through here."""

    def __init__(
        self,
        link: LinkConfig,
        on_inbound: Callable[[list[int]], None],
        stop: threading.Event,
        on_settled: Callable[[list[int]], None] = lambda ids: None,
    ) -> None:
        super().__init__(name=f"smpp-db-{link.name}", daemon=True)
        self.link = link
        self.on_inbound = on_inbound
        self.on_settled = on_settled  # outbox ids whose send outcome is committed
        self.stop_event = stop
        self.queue: queue.Queue[Item] = queue.Queue()
        self._next_expire = 0.0
        self._next_purge = 0.0
        self._orphans: list[tuple[Receipt, float]] = []  # (receipt, give up at)
        self.outage = OutageLog(log, f"link {link.name}: database")
        self._held = HeldConnection()
        self._alone = HeldConnection(autocommit=True)  # batches of one statement

    def put(self, item: Item) -> None:
        self.queue.put(item)

    def run(self) -> None:
        yield_to_filing()
        while not (self.stop_event.is_set() and self.queue.empty()):
            batch = self._take()
            try:
                if batch:
                    self._process(batch)
                self._housekeep()
            except Exception:
                log.exception("link %s: database thread error", self.link.name)
                time.sleep(1.0)
        self._held.close()
        self._alone.close()

    def _take(self) -> list[Item]:
        try:
            batch = [self.queue.get(timeout=0.2)]
        except queue.Empty:
            return []
        while len(batch) < BATCH:
            try:
                batch.append(self.queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _process(self, batch: list[Item]) -> None:
        try:
            replies, created = self._commit(batch)
        except UNAVAILABLE as exc:
            self._database_down(batch, exc)
            return
        except Exception as exc:
            if len(batch) > 1:
                for item in batch:
                    self._process([item])
                return
            log.exception("link %s: cannot persist %r", self.link.name, batch[0])
            if isinstance(batch[0], Delivered):
                batch[0].reply(ESME_RX_P_APPN if isinstance(exc, REFUSED) else ESME_RX_T_APPN)
            else:  # left `sending`: the sweep fails it once its lease lapses
                self.on_settled([batch[0].outbound_id])
            return
        self.outage.up()
        for reply in replies:
            reply(ESME_ROK)
        self.on_settled([item.outbound_id for item in batch if isinstance(item, Outcome)])
        self._notify(created)

    def _commit(self, batch: list[Item]) -> tuple[list[Callable[[int], None]], list[int]]:
        """A batch whose writes are one statement (one-part MOs only, or sent outcomes only)
        runs it without BEGIN and COMMIT round trips (models.db.HeldConnection); any other
        in one transaction, committed once: a commit is a flush of PostgreSQL's log."""
        held = self._alone if _one_statement(batch) else self._held
        with held.session() as session:
            return self._apply(session, batch)

    def _database_down(self, batch: list[Item], exc: Exception) -> None:
        delivered = [item for item in batch if isinstance(item, Delivered)]
        outcomes = [item for item in batch if isinstance(item, Outcome)]
        self.outage.down(
            exc,
            {
                "deliver_sm/data_sm answered ESME_RX_T_APPN": len(delivered),
                "send outcomes kept for later": len(outcomes),
            },
        )
        for item in delivered:
            item.reply(ESME_RX_T_APPN)
        if outcomes:
            time.sleep(1.0)
            for outcome in outcomes:
                self.queue.put(outcome)

    def _apply(
        self, session: Session, batch: list[Item]
    ) -> tuple[list[Callable[[int], None]], list[int]]:
        replies: list[Callable[[int], None]] = []
        created: list[int] = []
        singles: list[MoMessage] = []
        receipts: list[Receipt] = []
        now = utcnow()
        # Sent ones first: a receipt in the same batch then finds its segment.
        sent = [item for item in batch if isinstance(item, Outcome) and item.kind == "sent"]
        mark_sent_many(session, {o.outbound_id: list(o.external_ids) for o in sent})
        for item in batch:
            if isinstance(item, Outcome):
                if item.kind != "sent":
                    self._record_outcome(session, item)
                continue
            content = item.content
            if isinstance(content, MoMessage) and content.concat is None:
                singles.append(content)
            elif isinstance(content, MoMessage):
                created += self._store_part(session, content, now)
            elif isinstance(content, Receipt):
                receipts.append(content)
            elif isinstance(content, BinaryMo):
                metrics.MO.labels(self.link.name, "binary").inc()
                log.info(
                    "link %s: binary MO from %s (data_coding %d, %d octets) acked, not stored",
                    self.link.name,
                    mask(content.sender),
                    content.data_coding,
                    content.length,
                )
            else:
                metrics.RECEIPTS.labels(self.link.name, "unreadable").inc()
            replies.append(item.reply)
        if singles:
            for inbound_id in store_singles(session, self.link, singles, now):
                metrics.MO.labels(self.link.name, "message" if inbound_id else "duplicate").inc()
                if inbound_id:
                    created.append(inbound_id)
        self._record_receipts(session, receipts)
        return replies, created

    def _store_part(self, session: Session, mo: MoMessage, now: datetime) -> list[int]:
        created, duplicate = store_part(session, self.link, mo, now)
        metrics.MO.labels(self.link.name, "duplicate" if duplicate else "part").inc()
        return created

    def _record_receipts(self, session: Session, receipts: list[Receipt]) -> None:
        final: list[Receipt] = []
        for receipt in receipts:
            if receipt.final:
                final.append(receipt)
            else:
                metrics.RECEIPTS.labels(self.link.name, "intermediate").inc()
        now = time.monotonic()
        for receipt, known in zip(final, self._match_receipts(session, final), strict=True):
            if known:
                metrics.RECEIPTS.labels(self.link.name, "matched").inc()
            elif len(self._orphans) < ORPHAN_MAX:
                self._orphans.append((receipt, now + ORPHAN_KEEP_S))

    def _match_receipts(self, session: Session, receipts: list[Receipt]) -> list[bool]:
        updates = [
            ReceiptUpdate(tuple(id_candidates(r.message_id)), r.state, r.error) for r in receipts
        ]
        return record_receipts(
            session, channel=self.link.channel, link=self.link.name, receipts=updates
        )

    def _retry_orphans(self, session: Session) -> None:
        """Receipts that came before their message was marked sent, or for unknown ids."""
        now = time.monotonic()
        keep: list[tuple[Receipt, float]] = []
        matched = self._match_receipts(session, [receipt for receipt, _ in self._orphans])
        for (receipt, give_up_at), known in zip(self._orphans, matched, strict=True):
            if known:
                metrics.RECEIPTS.labels(self.link.name, "matched").inc()
            elif now < give_up_at:
                keep.append((receipt, give_up_at))
            else:
                metrics.RECEIPTS.labels(self.link.name, "unknown").inc()
                log.info(
                    "link %s: receipt for unknown message id %s", self.link.name, receipt.message_id
                )
        self._orphans = keep

    def _record_outcome(self, session: Session, outcome: Outcome) -> None:
        """A message that was not sent (sent ones are recorded a batch at a time)."""
        if outcome.kind == "retry":
            mark_retry(session, outcome.outbound_id, outcome.error, outcome.delay_s)
        else:
            mark_failed(session, outcome.outbound_id, outcome.error)

    def _notify(self, created: list[int]) -> None:
        """One wake-up for the batch: the job it starts takes every waiting message."""
        if not created:
            return
        try:
            self.on_inbound(created)
        except Exception:
            log.warning(
                "link %s: on_inbound failed for %d ids",
                self.link.name,
                len(created),
                exc_info=True,
            )

    def _housekeep(self) -> None:
        now_s = time.monotonic()
        if now_s < self._next_expire:
            return
        self._next_expire = now_s + EXPIRE_EVERY_S
        purge = now_s >= self._next_purge
        if purge:
            self._next_purge = now_s + PURGE_EVERY_S
        orphans = self._orphans
        try:
            with self._held.session() as session:
                now = utcnow()
                created = expire_stale(session, self.link, now)
                self._retry_orphans(session)
                if purge:
                    purge_assembled(session, self.link, now)
        except UNAVAILABLE:
            log.debug("link %s: housekeeping skipped, database unavailable", self.link.name)
            self._orphans = orphans
            return
        if created:
            log.info("link %s: %d incomplete long messages stored", self.link.name, len(created))
        self._notify(created)


def _one_statement(batch: list[Item]) -> bool:
    """Whether the batch writes with one statement: its one-part MOs, or its sent outcomes."""
    kinds = set()
    for item in batch:
        if isinstance(item, Outcome):
            if item.kind != "sent":
                return False
            kinds.add("sent")
        elif isinstance(item.content, Receipt):
            return False
        elif isinstance(item.content, MoMessage):
            if item.content.concat is not None:
                return False
            kinds.add("mo")
    return len(kinds) <= 1
