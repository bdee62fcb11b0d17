"""The actions layer: the only code that changes complaint state.

Each function changes state, writes the audit event and the outbox rows in
the caller's transaction; nothing here commits. Outbox rows wake their
sender only after the commit (models.db.after_commit).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from config.settings import get_settings
from models.agencies import Agency, Officer
from models.base import utcnow
from models.bulk import RowsInsert, RowsInsertOrLock
from models.complaints import Complaint, ComplaintEvent, Status
from models.db import after_commit
from models.directory import AgencyRef, active_agencies
from models.inbound import InboundMessage
from models.officers import coordinator_for, officers_by_agency
from models.outbox import OutboundMessage
from models.phone import PHONE_LIKE, mask, mask_in_prose, reporter_key
from models.queues import wake_outbox
from models.reporters import Reporter
from models.tracking import drawn_in_insert
from routing import sla
from templates_sms.render import label, render


@dataclass(frozen=True)
class Route:
    """Where a complaint goes, as decided by routing/ (kept free of routing types here)."""

    sector: str
    region_code: str | None
    agency_code: str
    confidence: float
    explanation: str
    needs_location: bool


@dataclass(frozen=True)
class Channel:
    """The way back to a person: the channel and link a message came in on, and the address."""

    channel: str
    link: str
    address: str


# The statements of a worker's group, built once: building one and its cache key costs
# 80-100 us of CPU, and a group runs a dozen (bound parameters carry what changes).
_REPORTERS = RowsInsertOrLock(Reporter, "msisdn")
_AGENCY = select(Agency).where(Agency.code == bindparam("code"), Agency.active)
RECENT = (
    select(Complaint)
    .where(
        Complaint.reporter_id.in_(bindparam("reporters", expanding=True)),
        # Not a condition ix_complaints_created_at can serve: on statistics a little behind
        # a busy day PostgreSQL took the day's complaints for a few and walked all of them,
        # every group (tests/models/test_claim_plans.py). By reporter is always the way.
        func.coalesce(Complaint.created_at, Complaint.created_at) > bindparam("since"),
    )
    .order_by(Complaint.id)
)
_INSERT_COMPLAINTS = RowsInsert(Complaint.__table__, ("id", "tracking_number"))
_INSERT_EVENTS = RowsInsert(ComplaintEvent.__table__, ("id",))
_QUEUE_SMS = RowsInsert(
    OutboundMessage.__table__, ("id", "idempotency_key"), skip_duplicates_of=("idempotency_key",)
)


def ensure_reporter(session: Session, address: str) -> Reporter:
    """The reporter behind an address, locked until the transaction ends (see ensure_reporters)."""
    return ensure_reporters(session, [address])[reporter_key(address)]


def ensure_reporters(session: Session, addresses: Iterable[str]) -> dict[str, Reporter]:
    """The reporters behind addresses, by reporter_key, locked until the transaction ends.

    08xx, 628xx and +628xx are one person. The row locks (taken in msisdn
    order, so two groups with the same reporters wait for each other instead
    of deadlocking; SQLite has one writer anyway) handle a reporter's
    messages one transaction at a time, so two copies of a text on two
    workers cannot both pass the duplicate check or the hourly limit. One
    statement inserts the new reporters and locks the known ones (a row this
    transaction inserted is its own until it commits; a copy on another
    worker inserting the same number waits for it, then finds it).
    """
    keys = sorted({reporter_key(address) for address in addresses})
    if not keys:
        return {}
    rows = [{"msisdn": key, "masked": mask(key.removeprefix("raw:"))} for key in keys]
    return {reporter.msisdn: reporter for reporter in _REPORTERS(session, rows)}


def text_fingerprint(text: str) -> str:
    """Same complaint text whatever the case and spacing: for duplicate detection."""
    folded = " ".join(text.lower().split())
    return hashlib.sha256(folded.encode()).hexdigest()


@dataclass(frozen=True)
class Sms:
    """One SMS to queue: where, which template with which values, and its idempotency key."""

    to: Channel
    template: str
    key: str
    complaint: Complaint | Filed | None = None
    values: Mapping[str, object] = field(default_factory=dict)


def queue_sms(
    session: Session,
    *,
    to: Channel,
    template: str,
    key: str,
    complaint: Complaint | Filed | None = None,
    **values: object,
) -> int | None:
    """Render `template` into an outbox row, once per idempotency `key`; the new row's id.

    None when a row with this key exists already (see queue_sms_many).
    """
    created = queue_sms_many(session, [Sms(to, template, key, complaint, values)])
    return created.get(key)


def queue_sms_many(session: Session, messages: Sequence[Sms]) -> dict[str, int]:
    """Outbox rows for `messages` in one INSERT; the ids of the new rows, by key.

    A key already in the outbox (or earlier in `messages`) queues nothing: a
    retried job or a repeated sweep never texts anyone twice. ON CONFLICT DO
    NOTHING, not a look-up and an insert: this runs for every SMS sent. The
    senders are woken once the transaction has committed.
    """
    by_key: dict[str, Sms] = {}
    for message in messages:
        by_key.setdefault(message.key, message)  # the first with a key is the one queued
    if not by_key:
        return {}
    unique = list(by_key.values())
    shortcode = get_settings().shortcode
    rows = [
        {
            "recipient": m.to.address,
            "sender": shortcode,
            "text": render(m.template, **m.values),
            "template": m.template,
            "channel": m.to.channel,
            "link": m.to.link,
            "idempotency_key": m.key,
            "complaint_id": m.complaint.id if m.complaint else None,
        }
        for m in unique
    ]
    created = {key: row_id for row_id, key in _QUEUE_SMS(session, rows)}  # one round trip
    wakes = [(created[m.key], m.to.channel, m.to.link) for m in unique if m.key in created]
    if wakes:
        after_commit(session, lambda: wake_outbox(wakes))
    return created


def record_event(
    session: Session,
    complaint: Complaint | None,
    *,
    actor: str,
    action: str,
    before: str | None = None,
    note: str = "",
) -> ComplaintEvent:
    event = ComplaintEvent(
        complaint_id=complaint.id if complaint else None,
        actor=actor,
        action=action,
        status_before=before,
        status_after=complaint.status if complaint else None,
        agency_id=complaint.agency_id if complaint else None,
        note=note,
    )
    session.add(event)
    return event


def agency_by_code(session: Session, code: str) -> Agency | None:
    """The active agency of this code (any case), to hand a complaint to (forward, reroute)."""
    return session.scalar(_AGENCY, {"code": code.upper()})


def recent_duplicate(session: Session, reporter: Reporter, text: str) -> Complaint | None:
    return recent_complaints_each(session, [(reporter, text)])[0].duplicate


def complaints_last_hour(session: Session, reporter: Reporter) -> int:
    return recent_complaints_each(session, [(reporter, None)])[0].last_hour


@dataclass(frozen=True)
class Recent:
    """What a reporter filed lately: the same text in the last 24 hours, and the hour's count."""

    duplicate: Complaint | None
    last_hour: int


def recent_complaints_each(
    session: Session, wanted: Sequence[tuple[Reporter, str | None]]
) -> list[Recent]:
    """For each (reporter, text): their complaint with that text in the last 24 hours, if any
    (None: no text to compare), and how many complaints they filed in the last hour.

    One query for a whole group of texts (the hourly limit keeps a day's
    complaints of one reporter few).
    """
    if not wanted:
        return []
    now = utcnow()
    hour_ago = now - timedelta(hours=1)
    reporters = sorted({reporter.id for reporter, _ in wanted})
    found = session.scalars(RECENT, {"reporters": reporters, "since": now - timedelta(hours=24)})
    latest: dict[tuple[int, str], Complaint] = {}
    last_hour: Counter[int] = Counter()
    for complaint in found:
        latest[(complaint.reporter_id, complaint.text_hash)] = complaint
        if complaint.created_at > hour_ago:
            last_hour[complaint.reporter_id] += 1
    return [
        Recent(
            latest.get((reporter.id, text_fingerprint(text))) if text is not None else None,
            last_hour[reporter.id],
        )
        for reporter, text in wanted
    ]


@dataclass(frozen=True)
class Filing:
    """A new complaint to file: who, how to answer them, what, and where routing sends it."""

    reporter: Reporter
    reply: Channel
    text: str
    route: Route
    anonymous: bool = False
    confidential: bool = False
    note: str = ""


@dataclass(frozen=True)
class Filed:
    """A complaint as file_complaints wrote it: what its messages and its caller need.

    Not an ORM object: building and flushing one a complaint through the unit
    of work was a quarter of the calls a worker made for a filed text.
    """

    id: int
    tracking_number: int
    status: str
    agency: AgencyRef | None
    sector: str
    text: str
    anonymous: bool
    confidential: bool
    reporter: Reporter
    disposition_due_at: datetime | None

    @property
    def agency_id(self) -> int | None:
        return self.agency.id if self.agency else None


def file_complaint(
    session: Session,
    *,
    reporter: Reporter,
    reply: Channel,
    text: str,
    route: Route,
    anonymous: bool = False,
    confidential: bool = False,
    note: str = "",
    now: datetime | None = None,
) -> Complaint:
    """A new complaint with its tracking number, routed, acknowledged, announced to the agency."""
    filing = Filing(reporter, reply, text, route, anonymous, confidential, note)
    complaint = session.get(Complaint, file_complaints(session, [filing], now)[0].id)
    assert complaint is not None  # just inserted
    return complaint


def file_complaints(
    session: Session, filings: Sequence[Filing], now: datetime | None = None
) -> list[Filed]:
    """New complaints, one per filing, each as file_complaint describes, in a handful of
    statements whatever their number: a busy link files a group of texts at once.

    The filings must be of different reporters (the caller checked each one's
    duplicates and hourly limit before any of them was filed).
    """
    if not filings:
        return []
    now = now or utcnow()
    agencies = active_agencies(session)
    numbers = drawn_in_insert(session, len(filings))
    due = sla.disposition_due(now)  # the same for every complaint of the group
    rows: list[dict[str, object]] = []
    assigned: list[AgencyRef | None] = []
    for n, filing in enumerate(filings):
        agency = agencies.get(filing.route.agency_code.upper())
        assigned.append(agency)
        rows.append(
            {
                **({"tracking_number": numbers[n]} if numbers else {}),
                "reporter_id": filing.reporter.id,
                "reply_address": filing.reply.address,
                "text": filing.text,
                "text_hash": text_fingerprint(filing.text),
                "channel": filing.reply.channel,
                "link": filing.reply.link,
                "sector": filing.route.sector,
                "region_code": filing.route.region_code,
                "anonymous": filing.anonymous,
                "confidential": filing.confidential,
                "routing_confidence": filing.route.confidence,
                "routing_explanation": filing.route.explanation,
                "created_at": now,
                "updated_at": now,
                **_assignment(agency, due),  # the same columns either way: one statement
            }
        )
    inserted = _INSERT_COMPLAINTS(session, rows)
    complaints = [
        Filed(
            complaint_id,
            number,
            Status.ASSIGNED if agency else Status.RECEIVED,
            agency,
            filing.route.sector,
            filing.text,
            filing.anonymous,
            filing.confidential,
            filing.reporter,
            due if agency else None,
        )
        for (complaint_id, number), agency, filing in zip(inserted, assigned, filings, strict=True)
    ]
    events: list[dict[str, object]] = []
    for complaint, filing in zip(complaints, filings, strict=True):
        events.append(_event_row(complaint, f"reporter:{filing.reporter.id}", "filed", filing.note))
        if complaint.agency_id is not None:
            events.append(_event_row(complaint, "system", "routed", filing.route.explanation))
    event_ids = iter(_insert_events(session, events, now))
    announced: list[tuple[Complaint | Filed, str]] = []
    acks: list[Sms] = []
    for complaint, filing in zip(complaints, filings, strict=True):
        next(event_ids)  # filed
        if complaint.agency_id is not None:
            announced.append((complaint, f"routed:{next(event_ids)}"))
        template = "ack_needs_location" if filing.route.needs_location else "ack_new"
        agency_name = complaint.agency.name if complaint.agency else ""
        values = {"tracking": complaint.tracking_number, "agency": agency_name}
        acks.append(Sms(filing.reply, template, f"ack:{complaint.id}", complaint, values))
    _announce_assignments(session, announced)
    queue_sms_many(session, acks)
    return complaints


def _event_row(
    complaint: Complaint | Filed, actor: str, action: str, note: str
) -> dict[str, object]:
    """A filing's audit event: `filed` (nobody holds it yet), then `routed` (to its agency)."""
    routed = action == "routed"
    return {
        "complaint_id": complaint.id,
        "actor": actor,
        "action": action,
        "status_before": Status.RECEIVED if routed else None,
        "status_after": complaint.status if routed else Status.RECEIVED,
        "agency_id": complaint.agency_id if routed else None,
        "note": note,
    }


def _insert_events(session: Session, rows: list[dict[str, object]], now: datetime) -> list[int]:
    """Audit events in one INSERT; their ids in the order of `rows`."""
    return [
        event_id
        for (event_id,) in _INSERT_EVENTS(session, [{**row, "created_at": now} for row in rows])
    ]


def reroute_complaint(
    session: Session, complaint: Complaint, route: Route, *, actor: str
) -> Agency | None:
    """Send a complaint to the agency a new routing decision names (a place was given later)."""
    agency = agency_by_code(session, route.agency_code)
    if agency is None or agency.id == complaint.agency_id:
        return None
    before = complaint.status
    _assign(complaint, agency, utcnow())
    complaint.sector = route.sector
    complaint.region_code = route.region_code
    complaint.routing_confidence = route.confidence
    complaint.routing_explanation = route.explanation
    event = record_event(
        session, complaint, actor=actor, action="rerouted", before=before, note=route.explanation
    )
    _announce_assignment(session, complaint, _event_key(session, event))
    return agency


def add_citizen_note(session: Session, complaint: Complaint, note: str) -> None:
    """The citizen's BALAS: on the record, and relayed to the holding agency's officers."""
    event = record_event(
        session,
        complaint,
        actor=f"reporter:{complaint.reporter_id}",
        action="citizen_note",
        before=complaint.status,
        note=note,
    )
    tell_officers(
        session,
        complaint.agency,
        complaint,
        template="officer_citizen_note",
        key=_event_key(session, event),
        tracking=complaint.tracking_number,
        message=text_for_agency(complaint, note),
    )


def rate_complaint(session: Session, complaint: Complaint, rating: int) -> None:
    """The citizen's rating closes a finished complaint."""
    before = complaint.status
    complaint.rating = rating
    complaint.status = Status.CLOSED
    complaint.closed_at = utcnow()
    record_event(
        session,
        complaint,
        actor=f"reporter:{complaint.reporter_id}",
        action="rated",
        before=before,
        note=str(rating),
    )


# --- the lifecycle: officers act, deadlines pass (handlers/officer.py, handlers/sla_sweep.py) ---


def _actor(officer: Officer) -> str:
    return f"officer:{officer.id}"


def _event_key(session: Session, event: ComplaintEvent) -> str:
    """An idempotency key per audit event: one event, one set of SMS, whatever retries."""
    session.flush()
    return f"{event.action}:{event.id}"


def _assign(complaint: Complaint, agency: Agency, now: datetime) -> None:
    """Hand a complaint to an agency (routed, forwarded, escalated): its disposition clock starts."""
    complaint.agency = agency
    for column, value in _assignment(agency, sla.disposition_due(now)).items():
        setattr(complaint, column, value)


def _assignment(agency: Agency | AgencyRef | None, due: datetime) -> dict[str, object]:
    """The columns of a complaint handed to `agency`, to be disposed of by `due` (see _assign);
    with no agency, of one nobody holds yet. The same columns either way."""
    return {
        "agency_id": agency.id if agency else None,
        "status": Status.ASSIGNED if agency else Status.RECEIVED,
        "accepted_at": None,
        "followup_due_at": None,
        "disposition_due_at": due if agency else None,
    }


def reporter_for_agency(complaint: Complaint | Filed) -> str:
    """What an agency may know of the reporter: the masked number, or nothing (ANONIM, RAHASIA)."""
    if complaint.anonymous or complaint.confidential:
        return label("officer_labels", "anonymous")
    return complaint.reporter.masked


def text_for_agency(complaint: Complaint | Filed, text: str) -> str:
    """Free text toward an agency: numbers in it masked, or gone when the reporter hides."""
    if complaint.anonymous or complaint.confidential:
        return PHONE_LIKE.sub("xxxx", text)
    return mask_in_prose(text)


# The channel and link of a sender's newest message, whatever the spelling (ix_inbound_sender).
LAST_INBOUND = (
    select(InboundMessage.channel, InboundMessage.link)
    .where(InboundMessage.sender.in_(bindparam("spellings", expanding=True)))
    .order_by(InboundMessage.id.desc())
    .limit(1)
)


def spellings(e164: str) -> list[str]:
    """The ways an Indonesian number may be written as a sender: +628..., 628..., 08..."""
    return sorted({e164, e164.lstrip("+"), "0" + e164.removeprefix("+62")})


def officer_channel(session: Session, officer: Officer) -> Channel:
    """Where to text an officer: the way they last wrote to us, else the first carrier configured."""
    e164 = officer.msisdn
    last = session.execute(LAST_INBOUND, {"spellings": spellings(e164)}).first()
    if last is not None:
        return Channel(last.channel, last.link, e164)
    settings = get_settings()
    if settings.smpp_links:
        return Channel("smpp", settings.smpp_links[0]["name"], e164)
    if settings.http_partners:
        return Channel("http", settings.http_partners[0]["name"], e164)
    return Channel("twilio", "twilio", e164)


@dataclass(frozen=True)
class News:
    """Something every active officer of an agency is texted, once per key."""

    agency_id: int
    template: str
    key: str
    complaint: Complaint | Filed
    values: Mapping[str, object]


def tell_officers(
    session: Session,
    agency: Agency | None,
    complaint: Complaint,
    /,
    *,
    template: str,
    key: str,
    **values: object,
) -> int:
    """Text every active officer of `agency` once per `key`; returns how many rows are new."""
    if agency is None:
        return 0
    return tell_officers_many(session, [News(agency.id, template, key, complaint, values)])


def tell_officers_many(session: Session, news: Sequence[News]) -> int:
    """Every item to its agency's officers, in one outbox INSERT; how many rows are new."""
    officers = officers_by_agency(session, [item.agency_id for item in news])
    channels: dict[int, Channel] = {}
    messages: list[Sms] = []
    for item in news:
        for officer in officers.get(item.agency_id, []):
            if officer.id not in channels:
                channels[officer.id] = officer_channel(session, officer)
            messages.append(
                Sms(
                    channels[officer.id],
                    item.template,
                    f"{item.key}:{officer.id}",
                    item.complaint,
                    item.values,
                )
            )
    return len(queue_sms_many(session, messages))


def tell_reporter(
    session: Session, complaint: Complaint, /, *, template: str, key: str, **values: object
) -> None:
    """Text the citizen on the channel the complaint came in on."""
    queue_sms(
        session,
        to=Channel(complaint.channel, complaint.link, complaint.reply_address),
        template=template,
        key=key,
        complaint=complaint,
        tracking=complaint.tracking_number,
        **values,
    )


def _announce_assignment(session: Session, complaint: Complaint, key: str) -> None:
    _announce_assignments(session, [(complaint, key)])


def _announce_assignments(
    session: Session, assigned: Sequence[tuple[Complaint | Filed, str]]
) -> None:
    """Tell the officers of each complaint's new agency about it, once per key."""
    tell_officers_many(
        session,
        [
            News(
                complaint.agency_id,
                "officer_new",
                key,
                complaint,
                {
                    "tracking": complaint.tracking_number,
                    "sector": complaint.sector,
                    "reporter": reporter_for_agency(complaint),
                    "summary": text_for_agency(complaint, complaint.text),
                    "date": sla.local_date(complaint.disposition_due_at),
                },
            )
            for complaint, key in assigned
            if complaint.agency_id is not None
        ],
    )


def accept_complaint(
    session: Session,
    complaint: Complaint,
    officer: Officer,
    complaint_type: str | None = None,
    now: datetime | None = None,
) -> None:
    """TERIMA: the agency takes the complaint on; its follow-up clock starts, by type."""
    now = now or utcnow()
    before = complaint.status
    complaint.status = Status.IN_PROGRESS
    complaint.accepted_at = now
    complaint.complaint_type = complaint_type or complaint.complaint_type
    complaint.followup_due_at = sla.followup_due(now, complaint.complaint_type)
    _officer_acted(
        session,
        complaint,
        officer,
        action="accepted",
        before=before,
        note=complaint.complaint_type,
        template="citizen_accepted",
        date=sla.local_date(complaint.followup_due_at),
    )


def set_complaint_type(
    session: Session, complaint: Complaint, officer: Officer, complaint_type: str
) -> None:
    """A dispute or a field inspection needs longer: the follow-up time counts anew from acceptance.

    The citizen was told the date at acceptance: a date that moves is theirs to know,
    or they would take the complaint for overdue (or wait past it).
    """
    told = complaint.followup_due_at
    complaint.complaint_type = complaint_type
    complaint.followup_due_at = sla.followup_due(complaint.accepted_at or utcnow(), complaint_type)
    _officer_acted(
        session,
        complaint,
        officer,
        action="type_set",
        before=complaint.status,
        note=complaint_type,
        template="citizen_type_set" if complaint.followup_due_at != told else None,
        ctype=sla.rules().types[complaint_type].label,
        date=sla.local_date(complaint.followup_due_at),
    )


def relay_officer_reply(
    session: Session, complaint: Complaint, officer: Officer, text: str
) -> None:
    """An officer's BALAS, on the record and on its way to the citizen."""
    _officer_acted(
        session,
        complaint,
        officer,
        action="officer_reply",
        before=complaint.status,
        note=text,
        template="citizen_officer_reply",
        message=text,
    )


def finish_complaint(
    session: Session,
    complaint: Complaint,
    officer: Officer,
    followup: str,
    now: datetime | None = None,
) -> None:
    """SELESAI: the agency's answer; the citizen may rate, or it closes itself later."""
    before = complaint.status
    complaint.status = Status.DONE
    complaint.done_at = now or utcnow()
    _officer_acted(
        session,
        complaint,
        officer,
        action="done",
        before=before,
        note=followup,
        template="citizen_done",
        message=followup,
    )


def _officer_acted(
    session: Session,
    complaint: Complaint,
    officer: Officer,
    *,
    action: str,
    before: str,
    note: str,
    template: str | None,
    **values: object,
) -> None:
    """An officer's act on the record and, with `template`, told to the citizen once per event
    (a retried job finds the key queued already)."""
    event = record_event(
        session, complaint, actor=_actor(officer), action=action, before=before, note=note
    )
    if template:
        tell_reporter(
            session,
            complaint,
            template=template,
            key=_event_key(session, event),
            agency=officer.agency.name,
            **values,
        )


def forward_complaint(
    session: Session,
    complaint: Complaint,
    officer: Officer,
    target: Agency,
    reason: str,
    now: datetime | None = None,
) -> None:
    """TERUSKAN (disposisi): No Wrong Door, the complaint moves to the agency that can act."""
    source = complaint.agency
    before = complaint.status
    _assign(complaint, target, now or utcnow())
    event = record_event(
        session,
        complaint,
        actor=_actor(officer),
        action="forwarded",
        before=before,
        note=f"{source.code if source else '-'} -> {target.code}: {reason}",
    )
    key = _event_key(session, event)
    tell_reporter(session, complaint, template="citizen_forwarded", key=key, agency=target.name)
    _announce_assignment(session, complaint, key)


def escalate_complaint(session: Session, complaint: Complaint, now: datetime) -> Agency | None:
    """A missed deadline: one level up the berjenjang chain, the region's coordinator informed.

    Returns the new agency, or None at the top of the chain (nothing changes).
    """
    source = complaint.agency
    target = source.parent if source is not None else None
    if source is None or target is None or not target.active:
        return None
    before = complaint.status
    missed = "disposisi" if before == Status.ASSIGNED else "tindak lanjut"
    _assign(complaint, target, now)
    event = record_event(
        session,
        complaint,
        actor="system",
        action="escalated",
        before=before,
        note=f"{source.code} -> {target.code}: batas {missed} terlewati",
    )
    key = _event_key(session, event)
    tell_reporter(session, complaint, template="citizen_escalated", key=key, agency=target.name)
    tell_officers(
        session,
        target,
        complaint,
        template="officer_escalated",
        key=key,
        tracking=complaint.tracking_number,
        from_agency=source.name,
        reporter=reporter_for_agency(complaint),
        summary=text_for_agency(complaint, complaint.text),
        date=sla.local_date(complaint.disposition_due_at),
    )
    tell_officers(
        session,
        coordinator_for(session, source),
        complaint,
        template="officer_coordinator_escalated",
        key=f"{key}:coordinator",
        tracking=complaint.tracking_number,
        from_agency=source.name,
        agency=target.name,
    )
    return target


def remind_officers(session: Session, complaint: Complaint, due: datetime) -> int:
    """Officers are told once per deadline that it is near; returns how many new reminders."""
    template = (
        "officer_reminder_disposition"
        if complaint.status == Status.ASSIGNED
        else "officer_reminder_followup"
    )
    queued = tell_officers(
        session,
        complaint.agency,
        complaint,
        template=template,
        key=f"remind:{complaint.id}:{due:%Y%m%d%H%M}",
        tracking=complaint.tracking_number,
        date=sla.local_date(due),
    )
    if queued:
        record_event(
            session,
            complaint,
            actor="system",
            action="reminded",
            before=complaint.status,
            note=template,
        )
    return queued


def auto_close_complaint(session: Session, complaint: Complaint, now: datetime) -> None:
    """The citizen stayed silent after SELESAI: the complaint closes itself."""
    before = complaint.status
    complaint.status = Status.CLOSED
    complaint.closed_at = now
    record_event(session, complaint, actor="system", action="auto_closed", before=before)
    tell_reporter(
        session,
        complaint,
        template="citizen_auto_closed",
        key=f"auto_closed:{complaint.id}",
        days=sla.rules().autoclose_days,
    )


def record_refusal(session: Session, complaint: Complaint | None, *, actor: str, note: str) -> None:
    """Someone tried an officer's command without the right: administrators see who and what."""
    record_event(
        session,
        complaint,
        actor=actor,
        action="refused",
        before=complaint.status if complaint else None,
        note=note,
    )
