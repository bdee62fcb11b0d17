"""USSD sessions in Redis: one step per request, retries answered from memory.

Africa's Talking sends every input so far joined by `*`. The session, kept
per sessionId and caller (an aggregator may reuse a sessionId for another
phone), holds the text it last answered and that answer, so:
- the same text again (an aggregator retry) gets the same screen, with no
  side effect;
- a text extending it by one input advances the menu by that input (an
  input may itself contain `*`);
- anything else, including a session Redis no longer knows (expired after
  SESSION_TTL_S, or lost), is replayed from the main menu input by input,
  only as far as the inputs surely mean what the caller meant (see _replay).
  A replay never files; a session that already filed answers with its number.

Only Indonesian numbers are served: an aggregator in Indonesia has no other
subscribers, and a foreign number would make us send SMS abroad.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from handlers.ussd import filing
from handlers.ussd.filing import Caller
from handlers.ussd.menu import Reply, State, advance, show
from handlers.ussd.screens import screen
from models.db import session_scope
from models.phone import indonesian, mask
from models.queues import get_redis

log = logging.getLogger(__name__)

SESSION_TTL_S = 600  # networks end a USSD session within ~3 minutes; retries come sooner
KEY = "lapor:ussd:{session_id}:{phone}"  # phone: E.164, so no `:` and one key for any spelling


def respond(session_id: str, phone: str, service_code: str, text: str) -> tuple[str, bool]:
    """The screen for one aggregator request and whether it ends the session.

    A broken database or Redis ends politely.
    """
    msisdn = indonesian(phone)
    if msisdn is None:
        return screen("not_indonesian"), True
    caller = Caller(session_id=session_id, phone=msisdn, service_code=service_code)
    try:
        reply = _respond(caller, text)
    except (RedisError, SQLAlchemyError):
        log.exception("ussd session=%s from=%s failed", session_id, mask(msisdn))
        reply = Reply(screen("busy"), end=True)
    return reply.text, reply.end


def _respond(caller: Caller, text: str) -> Reply:
    redis = get_redis()
    key = KEY.format(session_id=caller.session_id, phone=caller.phone)
    raw = redis.get(key)
    saved = json.loads(raw) if raw else None
    if saved is not None and (saved["seen"] == text or saved["end"]):
        return Reply(saved["text"], saved["end"])
    entry = _next_entry(saved["seen"], text) if saved is not None else None
    if saved is not None and entry is not None:
        state = _state(saved["state"])
        reply = advance(state, entry, caller)
    else:
        state, reply = _replay(text, caller)
    record = {"seen": text, "state": asdict(state), "text": reply.text, "end": reply.end}
    try:
        redis.set(key, json.dumps(record), ex=SESSION_TTL_S)
    except RedisError:
        # The step is done (a complaint may be committed): the caller gets its real answer,
        # and a next request Redis does not know is replayed.
        log.exception("ussd session=%s from=%s not saved", caller.session_id, mask(caller.phone))
    return reply


def _next_entry(seen: str, text: str) -> str | None:
    """The one input `text` adds to `seen`, or None when it does not extend it."""
    if not seen:
        return text
    return text[len(seen) + 1 :] if text.startswith(seen + "*") else None


def _replay(text: str, caller: Caller) -> tuple[State, Reply]:
    """Rebuild a session Redis forgot from its `*`-joined inputs, as far as they surely go.

    A complaint may itself contain `*` (and "...*1" is not "1 Kirim"), so the
    replay stops at any input on the confirm screen, and at the first input
    its step does not take when more follow (the last one is answered as step
    by step would): it never files, and never sends a complaint cut at a `*`.
    """
    state = State()
    reply = show(state)
    entries = text.split("*") if text else []
    for done, entry in enumerate(entries, start=1):
        if state.step == "confirm":
            return state, _resume(state, caller)
        reply = advance(state, entry, caller)
        if reply.reprompt and done < len(entries):
            return state, _resume(state, caller)
        if reply.end:
            break
    return state, reply


def _resume(state: State, caller: Caller) -> Reply:
    """Where a replay stopped: the answer a session that already filed got, else the step it
    stopped at under a "session broke" line, from which the caller goes on (or 00 for the
    main menu). From the complaint text on, the text may be cut: it is asked for again."""
    with session_scope() as session:
        answered = filing.earlier_submission(session, caller)
    if answered is not None:
        return Reply(answered, end=True)
    if state.step in ("text", "confirm"):
        state.step, state.text = "text", ""
        return show(state, "retype")
    return show(state, "resumed")


def _state(data: dict) -> State:
    """A State back from JSON (tuples come back as lists)."""
    return State(
        step=data["step"],
        page=data["page"],
        sector=data["sector"],
        choices=[(code, name) for code, name in data["choices"]],
        place=(data["place"][0], data["place"][1]),
        text=data["text"],
    )
