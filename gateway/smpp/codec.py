"""Text <-> SMPP short_message bytes: GSM 03.38, UCS-2 (with surrogate pairs), Latin-1.

smpplib's gsm helpers are not used for the alphabet: their table lacks '§'
(0x5F) and sends '`' as 0x5F, they cannot decode, and they split escape
sequences and surrogate pairs across segments.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

ESC = 0x1B
# GSM 03.38 default alphabet, septets 0x00-0x7F (0x1B is the escape to the extension table).
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
# GSM-7 by str.translate: each character to its septet, or to the escape and its septet.
_TO_SEPTETS = str.maketrans(
    {ch: chr(code) for code, ch in enumerate(GSM_BASIC) if code != ESC}
    | {ch: chr(ESC) + chr(code) for code, ch in GSM_EXTENSION.items()}
)
_GSM_CHARS = frozenset(chr(point) for point in _TO_SEPTETS)

DC_DEFAULT = 0x00
DC_IA5 = 0x01
DC_LATIN1 = 0x03
DC_UCS2 = 0x08


def gsm_bytes(text: str) -> bytes | None:
    """Unpacked GSM-7 (one septet per octet, as SMPP carries it), or None if not GSM-7.

    By translation, not a loop a character: every reply the link sends is encoded here.
    """
    if not _GSM_CHARS.issuperset(text):
        return None
    return text.translate(_TO_SEPTETS).encode("latin-1")


def gsm_encode(text: str) -> bytes:
    """gsm_bytes, or ValueError when the text has a character GSM-7 lacks."""
    encoded = gsm_bytes(text)
    if encoded is None:
        raise ValueError("text has characters outside the GSM 03.38 alphabet")
    return encoded


def gsm_decode(data: bytes) -> str:
    """Unpacked GSM-7 to text; an unknown escape falls back to the basic character (03.38)."""
    out: list[str] = []
    escaped = False
    for octet in data:
        code = octet & 0x7F
        if escaped:
            out.append(GSM_EXTENSION.get(code, GSM_BASIC[code] if code != ESC else " "))
            escaped = False
        elif code == ESC:
            escaped = True
        else:
            out.append(GSM_BASIC[code])
    return "".join(out)


def ucs2_decode(data: bytes) -> str:
    """UTF-16BE, so surrogate pairs become one character; an odd trailing byte is dropped."""
    return data[: len(data) & ~1].decode("utf-16-be", errors="replace")


# SMPP 3.4's own data_coding values (5.2.19); the others below 0x10 are character sets
# (JIS, Cyrillic, Hebrew, pictograms, ...) this gateway does not read: logged as binary.
SMPP_CODINGS = {DC_DEFAULT: "gsm", DC_IA5: "ascii", DC_LATIN1: "latin1", DC_UCS2: "ucs2"}


def text_kind(data_coding: int) -> str:
    """'gsm', 'latin1', 'ascii', 'ucs2' or 'binary' for a data_coding (GSM DCS groups too)."""
    if data_coding < 0x10:  # 2 and 4 are 8-bit data, not text in some alphabet
        return SMPP_CODINGS.get(data_coding, "binary")
    group = data_coding >> 4
    if group in (0x1, 0x2, 0x3) or group == 0xF:
        # GSM 03.38 general coding / message class groups: bits 3-2 are the alphabet
        # (0xF0 group has only bit 2: 0 = default alphabet, 1 = 8-bit data).
        alphabet = (data_coding >> 2) & (0x01 if group == 0xF else 0x03)
        if group in (0x2, 0x3):  # compressed text: we cannot read it
            return "binary"
        return {0: "gsm", 1: "binary", 2: "ucs2"}.get(alphabet, "binary")
    return "binary"


def decode_text(data_coding: int, data: bytes) -> str | None:
    """The text of a short message, or None when it is binary (ports, ringtones, OTA)."""
    kind = text_kind(data_coding)
    if kind == "gsm":
        # Some SMSCs send Latin-1 under data_coding 0; a septet never exceeds 0x7F.
        if any(octet > 0x7F for octet in data):
            return data.decode("latin-1")
        return gsm_decode(data)
    if kind == "ascii":
        return data.decode("ascii", errors="replace")
    if kind == "latin1":
        return data.decode("latin-1")
    if kind == "ucs2":
        return ucs2_decode(data)
    return None


def decode_mo_text(data_coding: int, data: bytes) -> str:
    """What a citizen typed, ready to store: binary reads as "", NUL characters are dropped.

    NUL is padding some handsets and SMSCs add to UCS-2 and Latin-1 texts; it
    carries nothing, and PostgreSQL refuses it in text columns, which would
    turn a complaint into a permanent error (ESME_RX_P_APPN) and lose it.
    """
    return (decode_text(data_coding, data) or "").replace("\x00", "")
