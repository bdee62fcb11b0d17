"""Every USSD screen fits 182 characters, even with the longest values and its error line."""

from __future__ import annotations

import pytest

from handlers.ussd.menu import PAGE_SIZE, STEPS, State, has_next_page, offer, sectors, show
from handlers.ussd.places import MAX_CHOICES
from handlers.ussd.screens import SCREEN_CHARS, screen
from models.seed import read_regions
from templates_sms.render import placeholders, templates, worst_cases

SCREENS = sorted(name.removeprefix("ussd_") for name in templates() if name.startswith("ussd_"))
WORST = worst_cases()
# The error lines each prompt can show (handlers/ussd/menu.py, and where a replay stops in
# handlers/ussd/session.py); END screens show none.
ERRORS = {
    "main": ["choice", "resumed"],
    "help": ["choice", "resumed"],
    "sector": ["choice", "resumed"],
    "place": ["place", "resumed"],
    "place_confirm": ["choice", "resumed"],
    "place_choose": ["choice", "resumed"],
    "text": ["short", "retype"],
    "confirm": ["choice"],
    "tracking": ["number", "not_found", "resumed"],
}
CASES = [(name, error) for name in SCREENS for error in ["", *ERRORS.get(name, [])]]


def worst(name: str) -> dict[str, str]:
    return {key: WORST[key] for key in placeholders(templates()[f"ussd_{name}"]["text"])}


def fits_under_every_error(state: State) -> bool:
    """The step's real screen (a sector page, a place list) fits under each of its error lines."""
    return all(len(show(state, error).text) <= SCREEN_CHARS for error in ERRORS[state.step])


def test_every_menu_step_has_a_screen_and_known_errors() -> None:
    assert STEPS.keys() == ERRORS.keys()
    assert STEPS.keys() <= set(SCREENS)


@pytest.mark.parametrize(("name", "error"), CASES)
def test_screen_with_worst_case_values_fits(name: str, error: str) -> None:
    values = worst(name) | (worst(f"error_{error}") if error else {})
    assert len(screen(name, error, **values)) <= SCREEN_CHARS


def test_every_sector_page_fits_with_an_error_line() -> None:
    page = 0
    while True:
        assert fits_under_every_error(State(step="sector", page=page)), page
        if not has_next_page(page):
            break
        page += 1
    assert (page + 1) * PAGE_SIZE >= len(sectors()) > page * PAGE_SIZE


def test_the_longest_kabupaten_kota_names_make_a_list_that_fits() -> None:
    kab_kota = [(code, name) for code, name in read_regions() if len(code) == 5]
    longest = sorted(kab_kota, key=lambda row: -len(row[1]))[:MAX_CHOICES]
    state = State()
    offer(state, longest)
    assert len(state.choices) >= 2
    assert fits_under_every_error(state)
    offer(state, longest[:1])
    assert fits_under_every_error(state)


def test_a_long_complaint_is_shortened_on_the_confirm_screen() -> None:
    place = ("31.74", "Kota Administrasi Jakarta Selatan")
    state = State(step="confirm", sector="PEKERJAAN_UMUM", place=place, text="x" * 500)
    text = show(state, "choice").text
    assert len(text) <= SCREEN_CHARS
    assert text.endswith('..."\n1 Kirim\n2 Batal\n0 Ubah teks')
