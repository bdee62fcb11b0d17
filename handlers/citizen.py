"""Citizen commands: file a complaint, CEK, NILAI, BALAS, help, and kind refusals.

Each reply is an outbox row keyed by the inbound message, so handling the
same message twice can never text the citizen twice.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.settings import get_settings
from handlers.parser import Kind, Parsed
from handlers.router import router_for
from models import actions
from models.actions import Channel, Route
from models.agencies import Agency
from models.complaints import Complaint, Status
from models.inbound import InboundMessage, link_complaints
from models.reporters import Reporter
from routing.engine import RoutingDecision
from templates_sms.render import label

log = logging.getLogger(__name__)

WIB = ZoneInfo("Asia/Jakarta")
NATIONAL_TRIAGE = "NAS.ADMIN"


def route_of(decision: RoutingDecision) -> Route:
    return Route(
        sector=decision.sector,
        region_code=decision.region_code,
        agency_code=decision.agency_code,
        confidence=decision.confidence,
        explanation=decision.explanation,
        needs_location=decision.needs_location,
    )


class CitizenContext:
    """One inbound message from a citizen, and the way to answer it."""

    def __init__(self, session: Session, inbound: InboundMessage, reporter: Reporter) -> None:
        self.session = session
        self.inbound = inbound
        self.reporter = reporter
        self.reply_to = Channel(inbound.channel, inbound.link, inbound.sender)

    def reply(self, template: str, complaint: Complaint | None = None, **values: object) -> None:
        actions.queue_sms(
            self.session,
            to=self.reply_to,
            template=template,
            key=f"reply:{self.inbound.id}",
            complaint=complaint,
            **values,
        )

    def own_complaint(self, tracking: int) -> Complaint | None:
        """Only the reporter's own complaints: anyone else learns nothing, not even existence.
        Locked, as an officer's command locks it (handlers/officer.py): NILAI and an officer's
        or the sweep's change at once must not write over each other."""
        return self.session.scalar(
            select(Complaint)
            .where(
                Complaint.tracking_number == tracking,
                Complaint.reporter_id == self.reporter.id,
            )
            .with_for_update()
        )


def handle(session: Session, inbound: InboundMessage, parsed: Parsed, reporter: Reporter) -> None:
    handle_many(session, [(inbound, parsed, reporter)])


def handle_many(
    session: Session, messages: Sequence[tuple[InboundMessage, Parsed, Reporter]]
) -> None:
    """Answer citizens' messages; the new complaints of single-message reporters as one group.

    A reporter with one new complaint in the group joins the group filing,
    done last (a few statements for all of them, see actions.file_complaints;
    their reporters have nothing else in the group). A reporter with several
    messages has them handled one after another in the order given, so each
    sees what the one before it did (a duplicate, the hourly limit).
    """
    senders = Counter(reporter.id for _, _, reporter in messages)
    group: list[tuple[CitizenContext, Parsed]] = []
    for inbound, parsed, reporter in messages:
        ctx = CitizenContext(session, inbound, reporter)
        if reporter.blocked:
            log.info("blocked reporter=%s inbound=%d ignored", reporter.masked, inbound.id)
        elif parsed.kind in HANDLERS:
            HANDLERS[parsed.kind](ctx, parsed)
        elif senders[reporter.id] == 1:
            group.append((ctx, parsed))
        else:
            _file(session, [(ctx, parsed)])
    _file(session, group)


def _file(session: Session, requests: Sequence[tuple[CitizenContext, Parsed]]) -> None:
    """File each text as a new complaint, unless it repeats one or its reporter is over the limit.

    The reporters are all different: one query answers each question for all of them.
    """
    if not requests:
        return
    settings = get_settings()
    texts = [parsed.text[: settings.max_text_chars] for _, parsed in requests]
    reporters = [ctx.reporter for ctx, _ in requests]
    recent = actions.recent_complaints_each(session, list(zip(reporters, texts, strict=True)))
    router = router_for(session)
    filings: list[actions.Filing] = []
    filers: list[CitizenContext] = []
    for (ctx, parsed), text, lately in zip(requests, texts, recent, strict=True):
        duplicate = lately.duplicate
        if duplicate is not None:
            ctx.reply("duplicate", duplicate, tracking=duplicate.tracking_number)
            continue
        if lately.last_hour >= settings.complaints_per_hour:
            _refuse_flood(ctx, settings.complaints_per_hour)
            continue
        decision = router.route(text, region_hint=parsed.region_hint)
        notes = [f"kampanye {parsed.campaign}"] if parsed.campaign else []
        if len(parsed.text) > len(text):
            notes.append(f"teks dipotong dari {len(parsed.text)} karakter")
        filings.append(
            actions.Filing(
                reporter=ctx.reporter,
                reply=ctx.reply_to,
                text=text,
                route=route_of(decision),
                anonymous=parsed.anonymous,
                confidential=parsed.confidential,
                note="; ".join(notes),
            )
        )
        filers.append(ctx)
    complaints = actions.file_complaints(session, filings)
    link_complaints(
        session, [(ctx.inbound, c.id) for ctx, c in zip(filers, complaints, strict=True)]
    )
    for ctx, complaint in zip(filers, complaints, strict=True):
        log.info(
            "complaint filed tracking=%d reporter=%s agency=%s",
            complaint.tracking_number,
            ctx.reporter.masked,
            complaint.agency.code if complaint.agency else "-",
        )


def _refuse_flood(ctx: CitizenContext, limit: int) -> None:
    """One polite refusal an hour; further texts in that hour are stored but not answered."""
    hour = ctx.inbound.received_at.strftime("%Y%m%d%H")
    actions.queue_sms(
        ctx.session,
        to=ctx.reply_to,
        template="rate_limited",
        key=f"flood:{ctx.reporter.id}:{hour}",
        limit=limit,
    )
    log.warning("rate limit reporter=%s inbound=%d", ctx.reporter.masked, ctx.inbound.id)


def _check(ctx: CitizenContext, parsed: Parsed) -> None:
    if parsed.tracking is None:
        complaint = ctx.session.scalar(
            select(Complaint)
            .where(Complaint.reporter_id == ctx.reporter.id)
            .order_by(Complaint.id.desc())
            .limit(1)
        )
        if complaint is None:
            ctx.reply("status_none")
            return
    else:
        complaint = ctx.own_complaint(parsed.tracking)
        if complaint is None:
            ctx.reply("not_found", tracking=parsed.tracking)
            return
    agency = ctx.session.get(Agency, complaint.agency_id) if complaint.agency_id else None
    ctx.reply(
        "status",
        complaint,
        tracking=complaint.tracking_number,
        status=label("status_labels", complaint.status),
        agency=agency.name if agency else "-",
        date=complaint.updated_at.astimezone(WIB).strftime("%d-%m-%Y %H:%M"),
    )


def _rate(ctx: CitizenContext, parsed: Parsed) -> None:
    complaint = _own_or_reply(ctx, parsed, "NILAI 1234567 5")
    if complaint is None:
        return
    if parsed.rating is None:
        ctx.reply("rating_invalid", complaint, tracking=complaint.tracking_number)
    elif complaint.status != Status.DONE:
        template = "closed_already" if complaint.status == Status.CLOSED else "rating_not_yet"
        ctx.reply(template, complaint, tracking=complaint.tracking_number)
    else:
        actions.rate_complaint(ctx.session, complaint, parsed.rating)
        ctx.reply("rated", complaint, tracking=complaint.tracking_number, rating=parsed.rating)


def _note(ctx: CitizenContext, parsed: Parsed) -> None:
    """BALAS <nomor> <teks>: more information, or the place a triaged complaint was missing."""
    complaint = _own_or_reply(ctx, parsed, "BALAS 1234567 <info>")
    if complaint is None:
        return
    if complaint.status == Status.CLOSED:
        ctx.reply("closed_already", complaint, tracking=complaint.tracking_number)
        return
    if not parsed.text:  # nothing to pass on: officers got an empty "Info tambahan"
        ctx.reply("missing_text", example=f"BALAS {complaint.tracking_number} <info>")
        return
    actions.add_citizen_note(ctx.session, complaint, parsed.text)
    agency = complaint.agency
    if complaint.region_code is None and agency is not None and agency.code == NATIONAL_TRIAGE:
        decision = router_for(ctx.session).route(complaint.text, region_hint=parsed.text)
        if not decision.needs_location:
            moved = actions.reroute_complaint(
                ctx.session, complaint, route_of(decision), actor=f"reporter:{ctx.reporter.id}"
            )
            if moved is not None:
                ctx.reply(
                    "relocated", complaint, tracking=complaint.tracking_number, agency=moved.name
                )
                return
    ctx.reply(
        "citizen_note_ok",
        complaint,
        tracking=complaint.tracking_number,
        agency=agency.name if agency else "LAPOR!",
    )


def _own_or_reply(ctx: CitizenContext, parsed: Parsed, example: str) -> Complaint | None:
    if parsed.tracking is None:
        ctx.reply("missing_number", example=example)
        return None
    complaint = ctx.own_complaint(parsed.tracking)
    if complaint is None:
        ctx.reply("not_found", tracking=parsed.tracking)
    return complaint


Handler = Callable[[CitizenContext, Parsed], None]


def _fixed(template: str) -> Handler:
    return lambda ctx, _parsed: ctx.reply(template)


HANDLERS: dict[Kind, Handler] = {
    Kind.CHECK: _check,
    Kind.DETAILS: _check,
    Kind.RATE: _rate,
    Kind.NOTE: _note,
    Kind.HELP: _fixed("help"),
    Kind.EMPTY: _fixed("empty"),
    Kind.UNREADABLE: _fixed("unreadable"),
}  # officer-only commands never get here (handlers.dispatch refuses them)
