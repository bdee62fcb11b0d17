"""Fuzz target: the GSM-7/UCS-2 codec and MT segmentation (pure).

Any octets an SMSC sends decode to text or are recognised as binary; any
text we send splits into parts that rebuild it, inside the 160/153 (GSM-7)
or 70/67 (UCS-2) budgets, GSM-7 whenever the text allows.
"""

from __future__ import annotations

import atheris

from fuzz.runner import instrumented, run, seed

with instrumented():
    from gateway.smpp.codec import (
        DC_DEFAULT,
        ESC,
        GSM_BASIC,
        GSM_EXTENSION,
        decode_mo_text,
        decode_text,
        gsm_decode,
        gsm_encode,
        text_kind,
    )
    from gateway.smpp.segment import GSM_PART, GSM_SINGLE, UCS2_PART, UCS2_SINGLE, split_text

GSM_CHARS = set(GSM_BASIC.replace(chr(ESC), "")) | set(GSM_EXTENSION.values())

# Ints (data_coding, ref, octet count) come from the end, the octets and the text from the front.
SEEDS = [
    seed("Jalan rusak", 0, 7, 0),
    seed("x" * 152 + "{}" + "y" * 20, 0, 255, 0),
    seed("Jalan rusak", 8, 1, 6),
    seed("Cafe [1708] ~ 100 euro", 3, 0, 4),
]


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    coding = fdp.ConsumeIntInRange(0, 255)
    ref = fdp.ConsumeIntInRange(0, 255)
    octets = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 300))
    text = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())

    decoded = decode_text(coding, octets)
    assert (decoded is None) == (text_kind(coding) == "binary")
    assert "\x00" not in decode_mo_text(coding, octets)

    gsm = set(text) <= GSM_CHARS
    if gsm:
        assert gsm_decode(gsm_encode(text)) == text
    segments = split_text(text, ref)
    total = len(segments)
    single, part = (GSM_SINGLE, GSM_PART) if gsm else (UCS2_SINGLE * 2, UCS2_PART * 2)
    payloads = [s.short_message[6:] if total > 1 else s.short_message for s in segments]
    for segment, payload in zip(segments, payloads, strict=True):
        assert (segment.data_coding == DC_DEFAULT) == gsm
        assert len(payload) <= (single if total == 1 else part)
        if total > 1:
            assert segment.short_message[:6] == bytes([5, 0, 3, ref, total, segment.index])
    rebuilt = b"".join(payloads)
    assert (gsm_decode(rebuilt) if gsm else rebuilt.decode("utf-16-be")) == text


if __name__ == "__main__":
    run(one_input, SEEDS)
