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

from templates_sms.gsm import PART_SEPTETS, SINGLE_SEPTETS, segments, septets, to_gsm7

HERE = Path(__file__).resolve().parent
DEFAULT_LANG = "id"
DEFAULT_SEGMENTS = 2

PLACEHOLDERS = "placeholders"  # per file: the longest value each placeholder can take


class TemplateError(KeyError):
    """An unknown template or a missing value: a programming error, caught by tests."""


@lru_cache(maxsize=4)
def load(lang: str = DEFAULT_LANG) -> dict[str, Any]:
    """Every template and phrase table of a language; a name defined twice is an error.

    Each file's `[placeholders]` table (worst-case values for the budget
    test) is merged separately under the key "placeholders".
    """
    merged: dict[str, Any] = {PLACEHOLDERS: {}}
    for path in sorted((HERE / lang).glob("*.toml")):
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        worst = data.pop(PLACEHOLDERS, {})
        clash = (merged.keys() & data.keys()) | (merged[PLACEHOLDERS].keys() & worst.keys())
        if clash:
            raise TemplateError(f"{path.name} redefines {sorted(clash)}")
        merged.update(data)
        merged[PLACEHOLDERS].update(worst)
    return merged


def templates(lang: str = DEFAULT_LANG) -> dict[str, dict[str, Any]]:
    """Only the templates (tables with a `text`), by name."""
    return {k: v for k, v in load(lang).items() if isinstance(v, dict) and "text" in v}


def worst_cases(lang: str = DEFAULT_LANG) -> dict[str, str]:
    return {k: str(v) for k, v in load(lang)[PLACEHOLDERS].items()}


def placeholders(template: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(template) if field]


def budget(segments: int) -> int:
    return SINGLE_SEPTETS if segments == 1 else segments * PART_SEPTETS


def _excess(text: str, allowed: int) -> int:
    """Septets to cut so that `text` is sent in `allowed` parts; 0 when it already is.

    At least 1 while an escape pair straddling a part boundary would add a part
    that the septet count alone does not show.
    """
    over = (septets(text) or 0) - budget(allowed)
    return max(over, 1) if over > 0 or (segments(text) or 0) > allowed else 0


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
    allowed = int(spec.get("segments", DEFAULT_SEGMENTS))
    over = _excess(text, allowed)
    if shrink:
        value, keep = folded[shrink], len(folded[shrink])
        while over > 0 and keep > 0:
            keep = max(0, keep - over - 3)
            folded[shrink] = value[:keep].rstrip() + "..."
            text = template.format(**folded)
            over = _excess(text, allowed)
    return text


def label(group: str, key: str, lang: str = DEFAULT_LANG) -> str:
    """A fixed phrase, such as a status label, from a `[group]` table."""
    return str(load(lang)[group][key])
