"""USSD screen texts, all from templates_sms/<lang>/ussd.toml: wording is data, not code."""

from __future__ import annotations

from collections.abc import Sequence

from templates_sms.render import load, render

SCREEN_CHARS = (
    182  # what a USSD screen shows (Africa's Talking, most handsets); tests hold us to it
)
ELLIPSIS = "..."


def screen(name: str, error: str = "", **values: object) -> str:
    """Screen `ussd_<name>`, with an optional error line (`ussd_error_<error>`) above it.

    A value the template names in `shrink` (the citizen's own text) is
    shortened until the whole screen fits.
    """
    prefix = render(f"ussd_error_{error}", **values) + "\n" if error else ""
    text = prefix + render(f"ussd_{name}", **values)
    shrink = load()[f"ussd_{name}"].get("shrink")
    value = str(values.get(shrink, ""))
    keep = len(value)
    while shrink and len(text) > SCREEN_CHARS and keep > 0:
        keep = max(0, keep - (len(text) - SCREEN_CHARS) - len(ELLIPSIS))
        shortened = value[:keep].rstrip() + ELLIPSIS
        text = prefix + render(f"ussd_{name}", **{**values, shrink: shortened})
    return text


def table(group: str) -> dict[str, str]:
    """A `[ussd_<group>]` table of fixed phrases, in file order."""
    return {str(k): str(v) for k, v in load()[f"ussd_{group}"].items()}


def options(labels: Sequence[str]) -> str:
    """Numbered lines "1 label", the way every menu of the service shows a choice."""
    return "\n".join(f"{number} {label}" for number, label in enumerate(labels, start=1))


def short_place(name: str) -> str:
    """A region name as short as a screen needs ("Kabupaten Bandung" -> "Kab. Bandung")."""
    for long, short in table("place_abbreviations").items():
        if name.startswith(long):
            return short + name[len(long) :]
    return name
