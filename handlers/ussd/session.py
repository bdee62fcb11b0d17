"""USSD sessions in Redis: one step per request, retries answered from memory.

Africa's Talking sends every input so far joined by `*`. The session keeps
the text it last answered and that answer, so:
- the same text again (an aggregator retry) gets the same screen, with no
  side effect;
- a text extending it by one input advances the menu by that input (an
  input may itself contain `*`);
- anything else, including a session Redis no longer knows (expired after
  SESSION_TTL_S, or lost), is replayed from the main menu input by input.
  The menu is deterministic and filing is idempotent per sessionId in the
  database, so a replay lands on the screen the caller expects and never
  files twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from handlers.ussd.filing import Caller
from handlers.ussd.menu import Reply, State, advance, show
from handlers.ussd.screens import screen
from models.phone import mask
from models.queues import get_redis

log = logging.getLogger(__name__)

SESSION_TTL_S = 600  # networks end a USSD session within ~3 minutes; retries come sooner
KEY = "lapor:ussd:{session_id}:{phone}"


def respond(session_id: str, phone: str, service_code: str, text: str) -> Reply:
    """The screen for one aggregator request; a broken database or Redis ends politely."""
    caller = Caller(session_id=session_id, phone=phone, service_code=service_code)
    try:
        return _respond(caller, text)
    except (RedisError, SQLAlchemyError):
        log.exception("ussd session=%s from=%s failed", session_id, mask(phone))
        return Reply(screen("busy"), end=True)


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
    redis.set(key, json.dumps(record), ex=SESSION_TTL_S)
    return reply


def _next_entry(seen: str, text: str) -> str | None:
    """The one input `text` adds to `seen`, or None when it does not extend it."""
    if not seen:
        return text
    return text[len(seen) + 1 :] if text.startswith(seen + "*") else None


def _replay(text: str, caller: Caller) -> tuple[State, Reply]:
    state = State()
    reply = show(state)
    for entry in text.split("*") if text else []:
        reply = advance(state, entry, caller)
        if reply.end:
            break
    return state, reply


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
