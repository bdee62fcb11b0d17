"""Phone numbers: one reporter whatever the spelling (08xx, 628xx, +628xx), masked everywhere."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

# 9-15 digits, after an optional + (or %2B, URL-encoded), not inside a longer word. A URL
# escape (%20, %3D...) or a + (a space in a query string) before the digits is a boundary, so
# numbers in access-log request lines (`?from=%2B628...&text=lapor+0812...`) are caught too.
_LONG_NUMBER = re.compile(
    r"(?:(?<![\w%-])|(?<=%[0-9A-Fa-f]{2}))(\+|%2[Bb])?(\d{5,11})(\d{4})(?![\w-])"
)


# What SMPP and our own rows carry nearly always: 62 and 7-17 digits not starting with the
# national prefix 0 (Indonesia's possible lengths), already E.164 but for the plus.
_INDONESIAN_E164 = re.compile(r"\+?62[1-9][0-9]{6,16}")


@lru_cache(maxsize=65536)
def normalize(raw: str, region: str = "ID") -> str | None:
    """E.164 (+628113643xxxx) for a valid number, None otherwise.

    Indonesian operators deliver 08.., 628.. and +628..; a bare 62.. without
    the plus is treated as international. Cached: every message asks several
    times (officer? reporter? reply address?) and phonenumbers is slow (24 us
    a new number, and most numbers are new to a process: the link's and the
    workers' share of a MO). The common spelling is answered without it;
    tests/models/test_phone.py checks it answers as phonenumbers does.
    """
    digits = raw.strip().replace(" ", "").replace("-", "")
    if not digits:
        return None
    if region == "ID" and _INDONESIAN_E164.fullmatch(digits):
        return digits if digits[0] == "+" else "+" + digits
    return _parsed(digits, region)


INDONESIAN_SPELLINGS = ("+62", "62", "0")  # how Indonesian operators write a subscriber


def indonesian(raw: str) -> str | None:
    """E.164 when `raw` is an Indonesian number as operators spell it (+62, 62 or 0...), else
    None (a national number never starts with 0: 0012... is no +62012...)."""
    if not raw.strip().startswith(INDONESIAN_SPELLINGS):
        return None
    e164 = normalize(raw)
    return e164 if e164 and _INDONESIAN_E164.fullmatch(e164) else None


def _parsed(digits: str, region: str) -> str | None:
    if digits[0].isdigit() and digits.startswith("62"):
        digits = "+" + digits
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask(msisdn: str) -> str:
    """628113643xxxx: the last four digits hidden, no plus; safe for logs and agencies."""
    digits = msisdn.lstrip("+")
    if len(digits) <= 4:
        return "x" * len(digits)
    return digits[:-4][:16] + "xxxx"  # at most 20 characters, even for odd sender ids


def mask_in_text(text: str) -> str:
    """Mask every phone-number-looking run of 9+ digits inside free text (log lines)."""
    return _LONG_NUMBER.sub(lambda m: m.group(2) + "xxxx", text)


# 9-16 digits, however people separate them (0812 3456 7831, (0813) 4567-8912, 0814 - 5678 -
# 9123, WA081234567831): phone numbers, and NIK. Not a slash, which lists numbers. Not for log
# lines, whose timestamps it would take.
PHONE_LIKE = re.compile(r"\+?\(?\d(?:[\s().-]{0,3}\d){8,15}")
_LAST_FOUR_DIGITS = re.compile(r"\d(?=(?:\D*\d){0,3}\D*$)")


def mask_in_prose(text: str) -> str:
    """What an agency or the public reads of a citizen's words: every phone-like number, however
    written, with its last four digits hidden (mask_in_text takes only unbroken runs)."""
    return PHONE_LIKE.sub(lambda m: _LAST_FOUR_DIGITS.sub("x", m.group()), text)


def reporter_key(address: str) -> str:
    """How a reporter is stored: E.164 for a phone number, `raw:<address>` for anything else."""
    return normalize(address) or f"raw:{address.strip()[:60]}"
