"""*1708# under anything an aggregator can send: POST /ussd through the real menu engine.

tests/handlers/ussd/ walks the menu screen by screen; these generate the
walks. For any `text` (inputs joined by `*`, any characters): a 200 with
`CON ` or `END ` and a screen of at most 182 characters, never the "busy"
screen while the database and Redis are up; a retried request gets the same
screen; a session Redis forgot is replayed to the screen the caller already
saw, or stops where it cannot be sure under a "session broke" line, and never
files; and one session files at most one complaint.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app import create_app
from handlers.ussd.screens import SCREEN_CHARS, screen
from handlers.ussd.session import KEY
from models.complaints import Complaint
from models.db import session_scope
from models.phone import reporter_key
from models.queues import get_redis
from models.reporters import Reporter
from templates_sms.render import render

SERVICE_CODE = "*1708#"
EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
KEYS = st.sampled_from(["1", "2", "3", "0", "00", "8", "4", "5", "6", "7", "9", "99", " 1 "])
PLACES = st.sampled_from(["bandung", "kab sijunjung", "Sijunjng", "jkt", "jogja", "xyzzy", "kota"])
NUMBERS = st.one_of(
    st.text("#0123456789 ", min_size=1, max_size=15),
    st.text(st.characters(categories=("Nd", "No")), min_size=1, max_size=3),  # ², ５, ٣, ①
)
COMPLAINTS = st.one_of(
    st.sampled_from(["Jembatan gantung putus sejak seminggu", "Sampah menumpuk di pasar"]),
    st.text(min_size=10, max_size=250),
)
INPUT = st.one_of(KEYS, KEYS, KEYS, PLACES, NUMBERS, COMPLAINTS, st.text(min_size=1, max_size=30))
# Where a replay stops short (handlers/ussd/session.py): the step under one of these lines.
RESUMED = tuple(f"CON {render(f'ussd_error_{line}')}\n" for line in ("resumed", "retype"))
# The way to filing, so generated walks reach the confirm and submit steps often.
HAPPY = ["1", "6", "kab sijunjung", "1", "Jembatan gantung putus sejak seminggu", "1"]


@st.composite
def walk(draw: st.DrawFn, star: bool) -> list[str]:
    """Inputs of one session: some of the way to filing, then anything (`*` inside if `star`)."""
    inputs = HAPPY[: draw(st.integers(0, len(HAPPY)))]
    if len(inputs) >= 5 and draw(st.booleans()):
        inputs[4] = draw(COMPLAINTS)  # the complaint text itself
    inputs += draw(st.lists(INPUT, max_size=8))
    if not star:
        inputs = [entry.replace("*", "") or "1" for entry in inputs]
    return inputs


def _phone() -> str:
    return f"+62812{uuid.uuid4().int % 10**8:08d}"


@pytest.fixture()
def post(db: dict[str, str]) -> Callable[[str, str, str], str]:
    client: FlaskClient = create_app().test_client()

    def send(session_id: str, phone: str, text: str) -> str:
        """One aggregator request; the screen it answers, checked against the protocol."""
        response = client.post(
            "/ussd",
            data={
                "sessionId": session_id,
                "serviceCode": SERVICE_CODE,
                "phoneNumber": phone,
                "text": text,
            },
        )
        assert response.status_code == 200 and response.mimetype == "text/plain"
        body = response.get_data(as_text=True)
        assert body[:4] in ("CON ", "END "), body
        shown = body[4:]
        assert 0 < len(shown) <= SCREEN_CHARS, (text, shown)
        assert shown != screen("busy"), text  # the database and Redis are fine
        return body

    return send


def _complaints_of(phone: str) -> int:
    with session_scope() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Complaint)
                .join(Reporter, Reporter.id == Complaint.reporter_id)
                .where(Reporter.msisdn == reporter_key(phone))
            )
            or 0
        )


def test_any_text_in_a_new_session_gets_a_screen(post: Callable[[str, str, str], str]) -> None:
    @EXAMPLES
    @given(st.one_of(st.text(max_size=400), walk(star=True).map("*".join)))
    @example("1*6*kab sijunjung*1*Jembatan gantung\x00 putus sejak seminggu*1")  # NUL: PostgreSQL
    @example("2*²")  # a digit int() refuses
    def check(text: str) -> None:
        session_id, phone = uuid.uuid4().hex, _phone()
        first = post(session_id, phone, text)
        assert post(session_id, phone, text) == first  # an aggregator retry: same screen
        assert _complaints_of(phone) <= 1

    check()


def test_step_by_step_and_replay_after_redis_loss_agree_or_stop_short(
    post: Callable[[str, str, str], str],
) -> None:
    @EXAMPLES
    @given(walk(star=False), st.data())
    def check(inputs: list[str], data: st.DataObject) -> None:
        session_id, phone = "ATUid_" + uuid.uuid4().hex, _phone()
        last = post(session_id, phone, "")
        for i in range(1, len(inputs) + 1):
            text = "*".join(inputs[:i])
            last = post(session_id, phone, text)
            if data.draw(st.booleans()):
                assert post(session_id, phone, text) == last
        filed = _complaints_of(phone)
        assert filed <= 1
        get_redis().delete(KEY.format(session_id=session_id, phone=phone))
        replayed = post(session_id, phone, "*".join(inputs))
        assert replayed == last or replayed.startswith(RESUMED), (inputs, replayed)
        assert _complaints_of(phone) == filed  # a replay never files

    check()


def test_odd_caller_ids_get_a_screen_too(post: Callable[[str, str, str], str]) -> None:
    """Whatever the aggregator puts in sessionId and phoneNumber (it is not ours to trust)."""
    ids = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=140).filter(
        lambda value: value.replace("\x00", "").strip()  # else no id at all: refused (400)
    )

    @EXAMPLES
    @given(ids, ids, walk(star=True).map("*".join))
    def check(session_id: str, phone: str, text: str) -> None:
        post(session_id, phone, text)

    check()
