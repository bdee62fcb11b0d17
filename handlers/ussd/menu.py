"""The *1708# menu as a state machine: one input in, the next screen out.

`advance` changes a `State` (a plain, JSON-ready record kept in Redis by
handlers.ussd.session) and returns the screen to show. Every step knows
`0` (back) and `00` (main menu); anything it does not expect re-shows the
same screen under a short error line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from config.settings import get_settings
from handlers.ussd import filing
from handlers.ussd.filing import Caller, Draft
from handlers.ussd.places import Place, candidates
from handlers.ussd.screens import SCREEN_CHARS, options, screen, short_place, table
from models.db import session_scope

PAGE_SIZE = 6  # sectors per screen: keys 1-6, 8 for the next page (fits with an error line)
MIN_TEXT_CHARS = 10  # shorter than this says nothing an agency could act on


class Reply(NamedTuple):
    text: str
    end: bool = False  # END: the aggregator closes the session after this screen
    reprompt: bool = False  # the same step under an error line: the input did not fit


@dataclass
class State:
    step: str = "main"
    page: int = 0
    sector: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)  # places offered (code, name)
    place: tuple[str, str] = ("", "")  # the place chosen (code, name)
    text: str = ""


def nav() -> dict[str, str]:
    return table("nav")


def sectors() -> list[tuple[str, str]]:
    """(code, label) of the sector menu, in menu order."""
    return list(table("sectors").items())


def sector_page(page: int) -> list[tuple[str, str]]:
    return sectors()[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]


def has_next_page(page: int) -> bool:
    return (page + 1) * PAGE_SIZE < len(sectors())


def show(state: State, error: str = "", **values: object) -> Reply:
    """The screen of the current step, with an optional error line above it."""
    return Reply(screen(state.step, error, **values, **_values(state)), reprompt=bool(error))


def _values(state: State) -> dict[str, object]:
    if state.step == "sector":
        keys = nav()
        lines = [f"{keys['next']} {keys['next_label']}"] if has_next_page(state.page) else []
        lines += [f"{keys['back']} {keys['back_label']}", f"{keys['main']} {keys['main_label']}"]
        labels = [label for _, label in sector_page(state.page)]
        return {"options": options(labels), "nav": "\n".join(lines)}
    if state.step == "place_confirm":
        return {"place": short_place(state.choices[0][1])}
    if state.step == "place_choose":
        return {"options": options([short_place(name) for _, name in state.choices])}
    if state.step == "confirm":
        return {
            "sector_label": table("sectors")[state.sector],
            "place": short_place(state.place[1]),
            "preview": state.text,
        }
    return {}


def go(state: State, step: str) -> Reply:
    state.step = step
    return show(state)


def advance(state: State, entry: str, caller: Caller) -> Reply:
    """Apply one input to `state` and return the next screen."""
    entry = entry.strip()
    if entry == nav()["main"]:
        state.page = 0
        return go(state, "main")
    return STEPS[state.step](state, entry, caller)


def _choice(entry: str, count: int) -> int | None:
    """The 0-based index of a numbered option, or None (isdecimal: "²" is a digit int() refuses)."""
    return int(entry) - 1 if entry.isdecimal() and 1 <= int(entry) <= count else None


def _main(state: State, entry: str, _caller: Caller) -> Reply:
    target = {"1": "sector", "2": "tracking", "3": "help"}.get(entry)
    return go(state, target) if target else show(state, "choice")


def _help(state: State, entry: str, _caller: Caller) -> Reply:
    return go(state, "main") if entry == nav()["back"] else show(state, "choice")


def _sector(state: State, entry: str, _caller: Caller) -> Reply:
    keys = nav()
    page = sector_page(state.page)
    index = _choice(entry, len(page))
    if index is not None:
        state.sector = page[index][0]
        return go(state, "place")
    if entry == keys["next"] and has_next_page(state.page):
        state.page += 1
        return show(state)
    if entry == keys["back"]:
        if state.page == 0:
            return go(state, "main")
        state.page -= 1
        return show(state)
    return show(state, "choice")


def _place(state: State, entry: str, _caller: Caller) -> Reply:
    if entry == nav()["back"]:
        return go(state, "sector")
    found = candidates(entry) if entry else []
    if not found:
        return show(state, "place")
    return offer(state, [(place.code, place.name) for place in found])


def offer(state: State, choices: list[tuple[str, str]]) -> Reply:
    """Confirm one place or list several; very long names make a shorter list."""
    state.choices = choices
    state.step = "place_confirm" if len(choices) == 1 else "place_choose"
    while len(show(state, "choice").text) > SCREEN_CHARS:
        state.choices.pop()
    return show(state)


def _place_confirm(state: State, entry: str, _caller: Caller) -> Reply:
    if entry == "1":
        state.place = state.choices[0]
        return go(state, "text")
    if entry in ("2", nav()["back"]):
        return go(state, "place")
    return show(state, "choice")


def _place_choose(state: State, entry: str, _caller: Caller) -> Reply:
    index = _choice(entry, len(state.choices))
    if index is not None:
        state.place = state.choices[index]
        return go(state, "text")
    if entry == nav()["back"]:
        return go(state, "place")
    return show(state, "choice")


def _text(state: State, entry: str, _caller: Caller) -> Reply:
    if entry == nav()["back"]:
        return go(state, "place")
    if len(entry) < MIN_TEXT_CHARS:
        return show(state, "short", min_chars=MIN_TEXT_CHARS)
    state.text = entry[: get_settings().max_text_chars]
    return go(state, "confirm")


def _confirm(state: State, entry: str, caller: Caller) -> Reply:
    if entry == "1":
        draft = Draft(state.sector, Place(*state.place), state.text)
        with session_scope() as session:
            return Reply(filing.submit(session, caller, draft), end=True)
    if entry == "2":
        return Reply(screen("cancelled"), end=True)
    if entry == nav()["back"]:
        return go(state, "text")
    return show(state, "choice")


def _tracking(state: State, entry: str, caller: Caller) -> Reply:
    if entry == nav()["back"]:
        return go(state, "main")
    number = entry.lstrip("#").replace(" ", "")
    if not number.isdecimal() or len(number) > 12:
        return show(state, "number")
    with session_scope() as session:
        complaint = filing.own_complaint(session, caller.phone, int(number))
        if complaint is None:
            return show(state, "not_found", tracking=int(number))
        return Reply(filing.status_screen(complaint), end=True)


Step = Callable[[State, str, Caller], Reply]

STEPS: dict[str, Step] = {
    "main": _main,
    "help": _help,
    "sector": _sector,
    "place": _place,
    "place_confirm": _place_confirm,
    "place_choose": _place_choose,
    "text": _text,
    "confirm": _confirm,
    "tracking": _tracking,
}
