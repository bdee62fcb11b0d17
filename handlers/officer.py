"""Officer commands by SMS: TERIMA, BALAS, SELESAI, TERUSKAN, INFO, DAFTAR.

Each answer is an outbox row keyed by the inbound message (handling a
message twice never texts twice); each refused attempt is on the audit
trail, so administrators see who tried to act on what.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.parser import Kind, Parsed
from models import actions
from models.actions import Channel
from models.agencies import Officer
from models.complaints import Complaint, Status
from models.inbound import InboundMessage
from models.officers import may_act, reported_it
from models.phone import mask, normalize
from models.tracking import FIRST_TRACKING_NUMBER
from routing import sla
from templates_sms.render import label

OFFICER_ONLY = frozenset({Kind.ACCEPT, Kind.DONE, Kind.FORWARD, Kind.LIST})
OFFICER_KINDS = OFFICER_ONLY | {Kind.NOTE, Kind.DETAILS, Kind.HELP}
WORDS = {
    Kind.ACCEPT: "TERIMA",
    Kind.NOTE: "BALAS",
    Kind.DONE: "SELESAI",
    Kind.FORWARD: "TERUSKAN",
    Kind.DETAILS: "INFO",
    Kind.LIST: "DAFTAR",
}
EXAMPLES = {
    Kind.ACCEPT: "TERIMA 1234567",
    Kind.NOTE: "BALAS 1234567 <pesan>",
    Kind.DONE: "SELESAI 1234567 <tindak lanjut>",
    Kind.FORWARD: "TERUSKAN 1234567 <kode> <alasan>",
    Kind.DETAILS: "INFO 1234567",
}
PAGE_SIZE = 6  # DAFTAR: six lines of the worst case still fit two segments
OPEN_AT_AGENCY = (Status.ASSIGNED, Status.IN_PROGRESS)


class OfficerContext:
    """One inbound message from an officer, and the way to answer it."""

    def __init__(self, session: Session, inbound: InboundMessage, officer: Officer) -> None:
        self.session = session
        self.inbound = inbound
        self.officer = officer
        self.actor = f"officer:{officer.id}"

    def reply(self, template: str, complaint: Complaint | None = None, **values: object) -> None:
        reply(self.session, self.inbound, template, complaint, **values)


def reply(
    session: Session,
    inbound: InboundMessage,
    template: str,
    complaint: Complaint | None = None,
    **values: object,
) -> None:
    actions.queue_sms(
        session,
        to=Channel(inbound.channel, inbound.link, inbound.sender),
        template=template,
        key=f"reply:{inbound.id}",
        complaint=complaint,
        **values,
    )


def handle(session: Session, inbound: InboundMessage, parsed: Parsed, officer: Officer) -> None:
    HANDLERS[parsed.kind](OfficerContext(session, inbound, officer), parsed)


def refuse_stranger(session: Session, inbound: InboundMessage, parsed: Parsed) -> None:
    """An officer's command from a number that is no active officer: refused, and on record."""
    complaint = _by_tracking(session, parsed.tracking)
    number = normalize(inbound.sender) or inbound.sender
    actions.record_refusal(
        session,
        complaint,
        actor=f"unregistered:{mask(number)}"[:64],
        note=f"{WORDS[parsed.kind]} dari nomor yang bukan petugas aktif (inbound {inbound.id})",
    )
    reply(session, inbound, "not_an_officer", command=WORDS[parsed.kind])


def as_reporter(session: Session, parsed: Parsed, officer: Officer) -> bool:
    """An officer's BALAS or INFO naming a complaint they filed themselves: a citizen's, so
    their information reaches the agency instead of being relayed back to them. (TERIMA,
    SELESAI and the like on it are refused: models.officers.may_act.)"""
    if parsed.kind in OFFICER_ONLY:
        return False
    complaint = _by_tracking(session, parsed.tracking)
    return complaint is not None and reported_it(officer, complaint)


def names_no_complaint(session: Session, parsed: Parsed) -> bool:
    """From a stranger, words that only start like an officer's command: a number no tracking
    number can be ("Terima 300 ribu"), or one no complaint has, followed by more words ("Terima
    1500000 rupiah potongan bansos"). A bare "TERIMA 1000001" stays a command (refused)."""
    if parsed.kind is Kind.LIST or parsed.tracking is None:
        return False
    if parsed.tracking < FIRST_TRACKING_NUMBER:
        return True
    return bool(parsed.text) and _by_tracking(session, parsed.tracking) is None


def _by_tracking(session: Session, tracking: int | None) -> Complaint | None:
    """The complaint, locked to the end of the transaction: read unlocked, a colleague's
    TERUSKAN (or the deadline sweep's escalation) committed meanwhile was written over."""
    if tracking is None:
        return None
    return session.scalar(
        select(Complaint).where(Complaint.tracking_number == tracking).with_for_update()
    )


def _target(ctx: OfficerContext, parsed: Parsed, *, closed_ok: bool = False) -> Complaint | None:
    """The complaint the command names, if it exists and this officer may act on it."""
    if parsed.tracking is None:
        ctx.reply("missing_number", example=EXAMPLES[parsed.kind])
        return None
    complaint = _by_tracking(ctx.session, parsed.tracking)
    if complaint is None:
        ctx.reply("officer_not_found", tracking=parsed.tracking)
        return None
    tracking = complaint.tracking_number
    if not may_act(ctx.officer, complaint):
        actions.record_refusal(
            ctx.session,
            complaint,
            actor=ctx.actor,
            note=f"{WORDS[parsed.kind]}: bukan wewenang {ctx.officer.agency.code}",
        )
        ctx.reply("officer_not_allowed", complaint, tracking=tracking)
        return None
    if complaint.status == Status.CLOSED and not closed_ok:
        ctx.reply("officer_closed", complaint, tracking=tracking)
        return None
    if complaint.status == Status.DONE and parsed.kind in (Kind.ACCEPT, Kind.DONE, Kind.FORWARD):
        assert complaint.done_at is not None
        done = sla.day_of(complaint.done_at)
        ctx.reply("officer_already_done", complaint, tracking=tracking, date=done)
        return None
    return complaint


def _with_text(ctx: OfficerContext, parsed: Parsed) -> Complaint | None:
    """The target of a command that needs words after the number (BALAS, SELESAI)."""
    complaint = _target(ctx, parsed)
    if complaint is not None and not parsed.text:
        ctx.reply("officer_missing_text", example=EXAMPLES[parsed.kind])
        return None
    return complaint


def _accept(ctx: OfficerContext, parsed: Parsed) -> None:
    """TERIMA <nomor> [RINGAN|NORMAL|SENGKETA|LAPANGAN]; again on an accepted one: a new type."""
    complaint = _target(ctx, parsed)
    if complaint is None:
        return
    first_word = parsed.text.split(" ", 1)[0]
    chosen = sla.rules().type_for_keyword(first_word) if first_word else None
    if complaint.status == Status.IN_PROGRESS:
        if chosen is None:
            ctx.reply("officer_already_accepted", complaint, tracking=complaint.tracking_number)
            return
        actions.set_complaint_type(ctx.session, complaint, ctx.officer, chosen.name)
        template = "officer_type_set"
    else:
        actions.accept_complaint(
            ctx.session, complaint, ctx.officer, chosen.name if chosen else None
        )
        template = "officer_accepted"
    assert complaint.followup_due_at is not None
    ctx.reply(
        template,
        complaint,
        tracking=complaint.tracking_number,
        ctype=sla.rules().types[complaint.complaint_type].label,
        date=sla.local_date(complaint.followup_due_at),
    )


def _note(ctx: OfficerContext, parsed: Parsed) -> None:
    complaint = _with_text(ctx, parsed)
    if complaint is None:
        return
    actions.relay_officer_reply(ctx.session, complaint, ctx.officer, parsed.text)
    ctx.reply("officer_replied", complaint, tracking=complaint.tracking_number)


def _done(ctx: OfficerContext, parsed: Parsed) -> None:
    complaint = _with_text(ctx, parsed)
    if complaint is None:
        return
    actions.finish_complaint(ctx.session, complaint, ctx.officer, parsed.text)
    assert complaint.done_at is not None
    ctx.reply(
        "officer_done",
        complaint,
        tracking=complaint.tracking_number,
        date=sla.local_date(sla.autoclose_due(complaint.done_at)),
    )


def _forward(ctx: OfficerContext, parsed: Parsed) -> None:
    complaint = _target(ctx, parsed)
    if complaint is None:
        return
    tracking = complaint.tracking_number
    if not parsed.agency_code or not parsed.text:
        ctx.reply("officer_missing_text", example=f"TERUSKAN {tracking} <kode> <alasan>")
        return
    target = actions.agency_by_code(ctx.session, parsed.agency_code)
    if target is None:
        ctx.reply(
            "officer_unknown_agency", complaint, tracking=tracking, code=parsed.agency_code[:24]
        )
    elif target.id == complaint.agency_id:
        ctx.reply("officer_same_agency", complaint, tracking=tracking, agency=target.name)
    else:
        actions.forward_complaint(ctx.session, complaint, ctx.officer, target, parsed.text)
        ctx.reply("officer_forwarded", complaint, tracking=tracking, agency=target.name)


def _current_due(complaint: Complaint) -> str:
    """The deadline that matters now, as a date, or '-' when none runs."""
    if complaint.status == Status.ASSIGNED and complaint.disposition_due_at:
        return sla.local_date(complaint.disposition_due_at)
    if complaint.status == Status.IN_PROGRESS and complaint.followup_due_at:
        return sla.local_date(complaint.followup_due_at)
    if complaint.status == Status.DONE and complaint.done_at:
        return sla.local_date(sla.autoclose_due(complaint.done_at))
    return "-"


def _details(ctx: OfficerContext, parsed: Parsed) -> None:
    """INFO <nomor>: status, agency, routing, type, deadline and the text, in two segments."""
    complaint = _target(ctx, parsed, closed_ok=True)
    if complaint is None:
        return
    text = actions.text_for_agency(complaint, complaint.text)
    ctx.reply(
        "officer_info",
        complaint,
        tracking=complaint.tracking_number,
        status=label("status_labels", complaint.status),
        agency=complaint.agency.name if complaint.agency else "-",
        sector=complaint.sector,
        region=complaint.region_code or "-",
        ctype=sla.rules().types[complaint.complaint_type].label,
        date=_current_due(complaint),
        reporter=actions.reporter_for_agency(complaint),
        # the explanation (at most 120 characters) first: the text is what gets shortened
        summary=f"Rute: {complaint.routing_explanation} | Isi: {text[:120]}",
    )


def _list(ctx: OfficerContext, parsed: Parsed) -> None:
    """DAFTAR [halaman]: the agency's open complaints, oldest first, one page per SMS."""
    where = (Complaint.agency_id == ctx.officer.agency_id, Complaint.status.in_(OPEN_AT_AGENCY))
    total = ctx.session.scalar(select(func.count()).select_from(Complaint).where(*where)) or 0
    if not total:
        ctx.reply("officer_list_empty")
        return
    pages = math.ceil(total / PAGE_SIZE)
    page = min(parsed.page, pages)
    rows = ctx.session.scalars(
        select(Complaint)
        .where(*where)
        .order_by(Complaint.created_at, Complaint.id)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    items = "; ".join(
        f"#{c.tracking_number} {label('officer_labels', f'list_{c.status}')} s/d {_current_due(c)[:5]}"
        for c in rows
    )
    template = "officer_list_more" if page < pages else "officer_list"
    ctx.reply(template, page=page, pages=pages, items=items, next_page=page + 1)


Handler = Callable[[OfficerContext, Parsed], None]

HANDLERS: dict[Kind, Handler] = {
    Kind.ACCEPT: _accept,
    Kind.NOTE: _note,
    Kind.DONE: _done,
    Kind.FORWARD: _forward,
    Kind.DETAILS: _details,
    Kind.LIST: _list,
    Kind.HELP: lambda ctx, _parsed: ctx.reply("officer_help"),
}
