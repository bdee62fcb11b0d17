"""Fuzz target: the *1708# menu through POST /ussd, on the embedded database and Redis.

Any `text` (inputs joined by `*`) in a new session must get a 200 with
`CON ` or `END ` and a screen of at most 182 characters, never the "busy"
screen (nothing is down), and a retried request the same screen.
"""

from __future__ import annotations

import itertools

import atheris

from fuzz.runner import embedded_defaults, instrumented, run, seed

with instrumented():
    from handlers.ussd.screens import SCREEN_CHARS, screen

SESSIONS = itertools.count()
SEEDS = [
    seed(text)
    for text in [
        "",
        "1*6*kab sijunjung*1*Jembatan gantung putus sejak seminggu*1",
        "1*6*bandung*2*Trotoar di Jalan Braga rusak parah*0*1",
        "1*8*8*8*1*jogja*1*Sampah menumpuk di pasar sejak Senin*2",
        "2*#1000001",
        "3*0*00*1*0*0",
    ]
]
CLIENT = None


def setup() -> None:
    global CLIENT
    embedded_defaults()
    from app import create_app

    CLIENT = create_app().test_client()


def one_input(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    n = next(SESSIONS)
    form = {
        "sessionId": f"fuzz-{n}",
        "serviceCode": "*1708#",
        "phoneNumber": f"+62813{n % 10**8:08d}",
        "text": text,
    }
    assert CLIENT is not None
    first = CLIENT.post("/ussd", data=form)
    body = first.get_data(as_text=True)
    assert first.status_code == 200 and body[:4] in ("CON ", "END "), body
    assert 0 < len(body) - 4 <= SCREEN_CHARS, body
    assert body[4:] != screen("busy"), text
    assert CLIENT.post("/ussd", data=form).get_data(as_text=True) == body  # a retry


if __name__ == "__main__":
    run(one_input, SEEDS, setup)
