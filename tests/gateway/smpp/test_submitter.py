"""What a link holds and what it puts in flight: a window of submit_sm, a window ready behind it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from smpplib import consts

from gateway.smpp.config import LinkConfig, parse_link
from gateway.smpp.outcomes import Outcome
from gateway.smpp.submitter import PAUSE_MIN_S, Pending, Submitter
from models.outbox import OutboundClaim


def _link(**extra: int) -> LinkConfig:
    return LinkConfig("tsel", "127.0.0.1", 2775, "lapor", "secret", window=10, **extra)


def _claims(first: int, count: int) -> list[OutboundClaim]:
    return [
        OutboundClaim(i, f"+6281200000{i:03d}", "1708", f"Laporan #{i} diterima", "smpp", "tsel", 1)
        for i in range(first, first + count)
    ]


def _ready(submitter: Submitter, sequences: Iterator[int]) -> list[int]:
    """Submit every segment the window allows now; the outbox ids that went out."""
    sent: list[int] = []
    while (pending := submitter.next_ready(0.0)) is not None:
        submitter.submitted(next(sequences), pending, 0.0)
        sent.append(pending.message.claim.id)
    return sent


def test_the_feeder_claims_a_window_ahead_of_what_is_in_flight() -> None:
    reported: list[Outcome] = []
    submitter = Submitter(_link(), reported.append)
    submitter.accepting = True
    sequences = itertools.count(1)
    assert submitter.room() == 20

    submitter.add(_claims(1, 20))
    assert submitter.room() == 0
    # Twenty claimed, never more than the window in flight.
    assert _ready(submitter, sequences) == list(range(1, 11))

    # The SMSC accepts the first five: five more go out at once, from what was claimed.
    for sequence in range(1, 6):
        submitter.on_response(sequence, consts.SMPP_ESME_ROK, f"id{sequence}", 0.0)
    assert [o.outbound_id for o in reported] == [1, 2, 3, 4, 5]
    assert _ready(submitter, sequences) == [11, 12, 13, 14, 15]
    # A row counts until its outcome is committed, then the feeder may claim again.
    assert submitter.room() == 0
    submitter.release([1, 2, 3, 4, 5])
    assert submitter.room() == 5


def test_hold_is_configurable_and_never_below_the_window() -> None:
    raw = {"name": "tsel", "host": "h", "port": 2775, "system_id": "s", "password": "p"}
    assert parse_link({**raw, "window": 10, "hold": "30"}).capacity == 30
    assert _link(hold=10).capacity == 10
    with pytest.raises(ValueError, match="hold"):
        _link(hold=5)


def test_the_oldest_submit_sm_in_flight_is_what_times_the_link_out() -> None:
    """A link is declared dead when its oldest submit_sm goes unanswered, answered ones aside;
    a throttled segment goes again as the newest."""
    submitter = Submitter(_link(), lambda outcome: None)
    submitter.accepting = True
    assert submitter.oldest_sent_at() is None
    submitter.add(_claims(1, 3))
    for sequence, at in ((1, 10.0), (2, 11.0), (3, 12.0)):
        pending = submitter.next_ready(at)
        assert pending is not None
        submitter.submitted(sequence, pending, at)
    assert submitter.oldest_sent_at() == 10.0
    submitter.on_response(1, consts.SMPP_ESME_ROK, "id1", 13.0)
    assert submitter.oldest_sent_at() == 11.0
    submitter.on_response(2, consts.SMPP_ESME_RTHROTTLED, "", 14.0)
    assert submitter.oldest_sent_at() == 12.0
    again = submitter.next_ready(30.0)  # after the throttle pause
    assert again is not None and again.message.claim.id == 2
    submitter.submitted(4, again, 30.0)
    submitter.on_response(3, consts.SMPP_ESME_ROK, "id3", 31.0)
    assert submitter.oldest_sent_at() == 30.0


def test_a_full_window_waits_for_a_response_instead_of_polling() -> None:
    """The socket thread sleeps until a submit_sm_resp makes room (no deadline), retries at
    once while there is room, and after a throttle pause when it ends."""
    submitter = Submitter(_link(), lambda outcome: None)
    submitter.accepting = True
    assert submitter.submit_deadline(0.0) is None  # nothing to send
    submitter.add(_claims(1, 11))
    assert submitter.submit_deadline(0.0) == 0.0
    sequences = itertools.count(1)
    assert _ready(submitter, sequences) == list(range(1, 11))
    assert submitter.submit_deadline(0.0) is None  # one queued, the window full
    submitter.on_response(1, consts.SMPP_ESME_RTHROTTLED, "", 5.0)
    assert submitter.submit_deadline(0.0) == submitter.paused_until > 5.0


def test_a_throttled_window_is_one_pause_and_the_pause_grows_only_when_throttled_again() -> None:
    """An SMSC that starts throttling answers the whole window so; the link pauses once for
    that burst, longer only when what it sent after the pause is throttled too, and for the
    shortest pause again once its submits are accepted."""
    submitter = Submitter(_link(), lambda outcome: None)
    submitter.accepting = True
    sequences = itertools.count(1)

    def send(at: float) -> list[int]:
        """Submit what the window and the pause allow at `at`: the sequences used."""
        sent = []
        while (pending := submitter.next_ready(at)) is not None:
            sent.append(next(sequences))
            submitter.submitted(sent[-1], pending, at)
        return sent

    def answer(sent: list[int], status: int, at: float) -> None:
        for sequence in sent:
            submitter.on_response(sequence, status, f"id{sequence}", at)

    submitter.add(_claims(1, 10))
    answer(send(1.0), consts.SMPP_ESME_RTHROTTLED, 5.0)  # the window of 10, all throttled
    assert submitter.paused_until == 5.0 + PAUSE_MIN_S
    assert send(5.0 + PAUSE_MIN_S / 2) == []
    retried = send(6.0)
    assert len(retried) == 10
    answer(retried[:1], consts.SMPP_ESME_RTHROTTLED, 6.1)  # throttled after the pause: longer
    assert submitter.paused_until == 6.1 + 2 * PAUSE_MIN_S
    answer(retried[1:5], consts.SMPP_ESME_ROK, 6.2)  # the rest of that window changes nothing
    answer(retried[5:], consts.SMPP_ESME_RTHROTTLED, 6.2)
    assert submitter.paused_until == 6.1 + 2 * PAUSE_MIN_S
    answer(send(8.0), consts.SMPP_ESME_ROK, 8.1)  # accepted since the pause
    submitter.add(_claims(11, 1))
    answer(send(9.0), consts.SMPP_ESME_RTHROTTLED, 9.1)
    assert submitter.paused_until == 9.1 + PAUSE_MIN_S


def _long_claim(outbound_id: int) -> OutboundClaim:
    text = "Laporan Anda sedang ditangani oleh dinas terkait. " * 8  # three GSM-7 parts
    return OutboundClaim(outbound_id, "+6281200000999", "1708", text, "smpp", "tsel", 1)


def _three_parts_in_flight(
    outbound_id: int,
) -> tuple[Submitter, list[Outcome], Iterator[int], list[Pending]]:
    """A submitter with the three parts of one message submitted as sequences 1-3."""
    reported: list[Outcome] = []
    submitter = Submitter(_link(), reported.append)
    submitter.accepting = True
    submitter.add([_long_claim(outbound_id)])
    sequences = itertools.count(1)
    parts = []
    for _ in range(3):
        pending = submitter.next_ready(0.0)
        assert pending is not None
        submitter.submitted(next(sequences), pending, 0.0)
        parts.append(pending)
    return submitter, reported, sequences, parts


def test_a_part_refused_for_now_goes_again_alone_while_the_others_are_with_the_smsc() -> None:
    """Retrying the row whole sent the parts the SMSC had accepted a second time."""
    submitter, reported, sequences, first = _three_parts_in_flight(7)
    submitter.on_response(1, consts.SMPP_ESME_RSYSERR, "", 0.0)  # parts 2 and 3 in flight
    submitter.on_response(2, consts.SMPP_ESME_ROK, "b", 0.0)
    assert reported == []
    again = submitter.next_ready(0.0)
    assert again is not None and again.segment == first[0].segment
    assert submitter.next_ready(0.0) is None  # only that part
    submitter.submitted(next(sequences), again, 0.0)
    submitter.on_response(3, consts.SMPP_ESME_ROK, "c", 0.0)
    submitter.on_response(4, consts.SMPP_ESME_ROK, "a", 0.0)
    assert reported == [Outcome(7, "sent", ("a", "b", "c"))]


def test_a_part_refused_again_and_again_fails_the_message_visibly() -> None:
    submitter, reported, sequences, _ = _three_parts_in_flight(8)
    submitter.on_response(2, consts.SMPP_ESME_ROK, "b", 0.0)
    submitter.on_response(3, consts.SMPP_ESME_ROK, "c", 0.0)
    sequence = 1
    while not reported:
        submitter.on_response(sequence, consts.SMPP_ESME_RSYSERR, "", 0.0)
        if (pending := submitter.next_ready(0.0)) is not None:
            sequence = next(sequences)
            submitter.submitted(sequence, pending, 0.0)
    (outcome,) = reported
    assert outcome.kind == "failed" and "after 2 of 3 parts" in (outcome.error or "")
    assert sequence == 6  # the part went three times more
