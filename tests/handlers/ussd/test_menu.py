"""What a caller sees on *1708#: menus, paging, back keys, places, and errors."""

from __future__ import annotations

import pytest

from handlers.ussd.menu import PAGE_SIZE, sectors
from models.complaints import Complaint
from routing.engine import get_router
from routing.sectors import UNKNOWN_SECTOR

from channels import count

ROAD = "6"  # "Jalan, jembatan, banjir" on the first sector page


def test_dialling_shows_the_main_menu(handset) -> None:
    screen = handset().dial()
    assert screen.startswith("CON LAPOR! 1708\n1 Buat laporan\n2 Cek status")


def test_sector_menu_pages_forward_and_back_to_the_main_menu(handset) -> None:
    phone = handset()
    phone.dial()
    first = phone.press("1")
    assert "1 KTP, KK, akta" in first and "8 Lanjut" in first
    second = phone.press("8")
    assert "1 Angkutan, parkir" in second
    phone.press("8")
    last = phone.press("8")
    assert "Lainnya" in last and "8 Lanjut" not in last
    assert phone.press("8").startswith("CON Pilihan tidak tersedia.\nJenis masalah")
    phone.press("0")
    assert phone.press("0") == second
    assert phone.press("0") == first
    assert phone.press("0").startswith("CON LAPOR! 1708")


def test_double_zero_returns_to_the_main_menu_from_deep_in_the_menu(handset) -> None:
    phone = handset()
    phone.dial()
    phone.press("1", ROAD, "kab sijunjung", "1")
    assert phone.press("00").startswith("CON LAPOR! 1708\n1 Buat laporan")
    assert "1 KTP, KK, akta" in phone.press("1")  # the sector menu starts on its first page


def test_a_clear_place_is_confirmed_and_back_keys_walk_the_steps(handset) -> None:
    phone = handset()
    phone.dial()
    confirm = phone.press("1", ROAD, "Sijunjng")  # a typo still finds it
    assert confirm == "CON Lokasi: Kab. Sijunjung?\n1 Ya\n2 Ketik ulang\n0 Kembali\n00 Menu utama"
    assert phone.press("2").startswith("CON Ketik nama kabupaten/kota")
    phone.press("kab sijunjung")
    assert phone.press("1").startswith("CON Tulis keluhan Anda")
    summary = phone.press("Jembatan gantung putus sejak seminggu")
    assert "Jalan, jembatan, banjir, Kab. Sijunjung" in summary and "1 Kirim\n2 Batal" in summary
    assert phone.press("0").startswith("CON Tulis keluhan Anda")
    assert phone.press("0").startswith("CON Ketik nama kabupaten/kota")
    assert "1 KTP, KK, akta" in phone.press("0")


def test_an_ambiguous_place_offers_a_short_list(handset) -> None:
    phone = handset()
    phone.dial()
    listing = phone.press("1", ROAD, "bandung")
    assert listing.startswith("CON Pilih kab/kota:\n1 Kab. Bandung\n2 Kota Bandung\n")
    assert listing.endswith("0 Ketik ulang\n00 Menu utama")
    assert phone.press("7").startswith("CON Pilihan tidak tersedia.\nPilih kab/kota")
    assert phone.press("2").startswith("CON Tulis keluhan Anda")
    assert "Kota Bandung" in phone.press("Trotoar di Jalan Braga rusak parah")


def test_an_unknown_place_is_asked_again(handset) -> None:
    phone = handset()
    phone.dial()
    again = phone.press("1", ROAD, "xyzzy qwerty")
    assert again.startswith("CON Lokasi tidak dikenali.\nKetik nama kabupaten/kota")


@pytest.mark.parametrize(
    ("entries", "error"),
    [
        (["9"], "Pilihan tidak tersedia."),
        (["1", "abc"], "Pilihan tidak tersedia."),
        (["1", ROAD, "kota padang", "5"], "Pilihan tidak tersedia."),
        (["1", ROAD, "kota padang", "1", "rusak"], "Keluhan terlalu singkat (min. 10 huruf)."),
        (["1", ROAD, "kota padang", "1", "Jalan berlubang", "3"], "Pilihan tidak tersedia."),
        (["2", "abc"], "Nomor laporan tidak valid."),
        (["3", "1"], "Pilihan tidak tersedia."),
    ],
)
def test_invalid_input_reprompts_the_same_screen_under_a_short_error(
    handset, entries: list[str], error: str
) -> None:
    phone = handset()
    phone.dial()
    before = phone.press(*entries[:-1]) if entries[:-1] else phone.dial()
    after = phone.press(entries[-1])
    assert after == f"CON {error}\n" + before.removeprefix("CON ")


def test_help_and_back(handset) -> None:
    phone = handset()
    phone.dial()
    assert "Pilih 2 untuk cek status" in phone.press("3")
    assert phone.press("0").startswith("CON LAPOR! 1708")


def test_cancel_ends_the_session_and_files_nothing(handset) -> None:
    phone = handset()
    phone.dial()
    phone.press("1", ROAD, "kota padang", "1", "Jalan berlubang di depan pasar raya")
    assert phone.press("2") == "END Laporan dibatalkan. Terima kasih telah menghubungi LAPOR! 1708."
    assert count(Complaint) == 0


def test_the_sector_menu_lists_every_routing_sector_once() -> None:
    codes = [code for code, _ in sectors()]
    assert sorted(codes) == sorted([*get_router().rules.sectors, UNKNOWN_SECTOR])
    assert len(codes) > 2 * PAGE_SIZE  # paging is really exercised


@pytest.mark.parametrize("phone", ["", "  ", "\x00", "\x00 \x00"])
def test_a_request_without_a_caller_id_is_refused(client, phone: str) -> None:
    """Nothing left once NUL and spaces are dropped: no caller to show a screen to."""
    response = client.post(
        "/ussd",
        data={"sessionId": "ATUid_x", "serviceCode": "*1708#", "phoneNumber": phone, "text": ""},
    )
    assert (response.status_code, response.get_data(as_text=True)) == (
        400,
        "sessionId and phoneNumber are required",
    )
