"""Every SMS template fits its segments (two unless it says one) with worst-case values, in GSM-7."""

from __future__ import annotations

import pytest

from templates_sms.gsm import segments, septets, to_gsm7
from templates_sms.render import placeholders, render, templates, worst_cases

TEMPLATES = sorted(templates())
WORST_CASE = worst_cases()


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_fits_its_segments_with_worst_case_values(name: str) -> None:
    spec = templates()[name]
    values = {field: WORST_CASE[field] for field in placeholders(spec["text"])}
    text = render(name, **values)
    assert septets(text) is not None, f"{name} is not GSM-7: {text!r}"
    # the wording fits with every value at its longest: render() never has to shorten it
    allowed = int(spec.get("segments", 2))
    assert segments(text) <= allowed, f"{name}: {septets(text)} septets"


def test_relayed_free_text_is_cut_to_fit_two_segments_and_marked() -> None:
    message = "Jalan sudah kami tambal sepanjang 200 meter dan drainase dibersihkan. " * 10
    text = render(
        "citizen_done", tracking="1000001", agency="Dinas PUPR Kota Bandung", message=message
    )
    assert segments(text) == 2
    assert "... Beri nilai: NILAI 1000001 <1-5>" in text  # the cut shows; the instruction stays


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_wording_itself_is_gsm7(name: str) -> None:
    assert septets(templates()[name]["text"]) is not None


def test_every_placeholder_has_a_worst_case() -> None:
    used = {field for name in TEMPLATES for field in placeholders(templates()[name]["text"])}
    assert used <= WORST_CASE.keys()


@pytest.mark.parametrize("name", ["ack_new", "ack_needs_location", "duplicate"])
def test_every_acknowledgement_of_a_complaint_is_one_sms(name: str) -> None:
    values = {field: WORST_CASE[field] for field in placeholders(templates()[name]["text"])}
    assert segments(render(name, **values)) == 1


def test_an_agency_name_longer_than_any_known_is_cut_to_keep_the_ack_one_sms() -> None:
    text = render("ack_new", tracking="1000001", agency="Dinas " * 30)
    assert segments(text) == 1
    assert "diteruskan ke Dinas Dinas" in text and "...." in text
    assert text.endswith("Cek status: CEK 1000001 ke 1708.")


@pytest.mark.parametrize(
    "value",
    [
        "\u201cJalan\u201d rusak",
        "caf\u00e9\u00a0\u2014 ok\u2026",
        "emoji \U0001f621",
        "\u4e2d\u6587",
    ],
)
def test_values_with_stray_characters_never_switch_the_sms_to_ucs2(value: str) -> None:
    assert septets(render("ack_new", tracking="1000001", agency=value)) is not None


def test_folding_keeps_plain_text_and_replaces_typography() -> None:
    assert to_gsm7("Jalan rusak, 100% parah!") == "Jalan rusak, 100% parah!"
    assert to_gsm7("\u201cx\u201d \u2018y\u2019\u00a0z\u2013") == "\"x\" 'y' z-"


def test_segment_arithmetic() -> None:
    assert segments("a" * 160) == 1
    assert segments("a" * 161) == 2
    assert segments("a" * 306) == 2
    assert segments("a" * 307) == 3
    assert segments("{" * 80) == 1  # extension characters cost two septets
    assert segments("{" * 81) == 2


def test_worst_case_agency_is_as_long_as_any_generated_agency_name() -> None:
    from models.seed import read_regions
    from routing.registry import generate_agencies

    longest = max(len(spec.name) for spec in generate_agencies(read_regions()))
    assert len(WORST_CASE["agency"]) >= longest
