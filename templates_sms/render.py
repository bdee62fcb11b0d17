"""Render SMS templates: values folded into GSM-7, long values shortened to fit.

Templates live in `templates_sms/<lang>/*.toml` (one file per area: citizen,
officer, ussd...) so that wording changes are data, not code; a test
renders each with WORST_CASE values.
"""

from __future__ import annotations

import string
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from templates_sms.gsm import PART_SEPTETS, SINGLE_SEPTETS, septets, to_gsm7

HERE = Path(__file__).resolve().parent
DEFAULT_LANG = "id"
DEFAULT_SEGMENTS = 2

# The longest value each placeholder can take, for the budget test.
WORST_CASE: dict[str, str] = {
    "tracking": "9999999999",
    "agency": "X" * 64,
    "status": "Diterima, menunggu verifikasi",
    "date": "31-12-2026 23:59",
    "limit": "999",
    "rating": "5",
    "example": "CEK 1234567",
}


class TemplateError(KeyError):
    """An unknown template or a missing value: a programming error, caught by tests."""


@lru_cache(maxsize=4)
def load(lang: str = DEFAULT_LANG) -> dict[str, Any]:
    """Every template of a language; a name defined in two files is an error."""
    merged: dict[str, Any] = {}
    for path in sorted((HERE / lang).glob("*.toml")):
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        clash = merged.keys() & data.keys()
        if clash:
            raise TemplateError(f"{path.name} redefines {sorted(clash)}")
        merged.update(data)
    return merged


def placeholders(template: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(template) if field]


def budget(segments: int) -> int:
    return SINGLE_SEPTETS if segments == 1 else segments * PART_SEPTETS


def render(name: str, lang: str = DEFAULT_LANG, **values: object) -> str:
    """The text of template `name` with `values`, always GSM-7, shortened to its budget."""
    spec = load(lang).get(name)
    if not isinstance(spec, dict) or "text" not in spec:
        raise TemplateError(name)
    template: str = spec["text"]
    folded = {key: to_gsm7(str(value)) for key, value in values.items()}
    missing = set(placeholders(template)) - folded.keys()
    if missing:
        raise TemplateError(f"{name}: missing {sorted(missing)}")
    text = template.format(**folded)
    shrink = spec.get("shrink")
    limit = budget(int(spec.get("segments", DEFAULT_SEGMENTS)))
    over = (septets(text) or 0) - limit
    if shrink:
        value, keep = folded[shrink], len(folded[shrink])
        while over > 0 and keep > 0:
            keep = max(0, keep - over - 3)
            folded[shrink] = value[:keep].rstrip() + "..."
            text = template.format(**folded)
            over = (septets(text) or 0) - limit
    return text


def label(group: str, key: str, lang: str = DEFAULT_LANG) -> str:
    """A fixed phrase, such as a status label, from a `[group]` table."""
    return str(load(lang)[group][key])
