"""Phone numbers: the common Indonesian spelling is answered without phonenumbers, as it would."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from models.phone import _parsed, normalize

# Around the spelling the fast path answers: its edges (lengths, a 0 after 62, another
# country, separators, non-ASCII digits) must fall through to phonenumbers.
NEAR = st.from_regex(r"[ +]?(62|6|620|60|1)?[0-9\- ]{0,20}", fullmatch=True)
FAST = st.from_regex(r"\+?62[1-9][0-9]{6,16}", fullmatch=True)
OTHER_DIGITS = st.text(alphabet=st.sampled_from("0123456789+٠١٢٣٤٥٦٧٨٩６２"), max_size=20)


@settings(max_examples=1000, deadline=None)  # phonenumbers loads a region's data on first use
@given(st.one_of(FAST, NEAR, OTHER_DIGITS))
@example("628123456789")
@example("+628123456789")
@example("628123456")  # 7 digits after 62: the shortest Indonesian number
@example("62123456789012345678")  # too long
@example("620812345678")
@example("٦٢٨١٢٣٤٥٦٧٨٩")  # Arabic-Indic digits
def test_normalize_answers_as_phonenumbers_does(raw: str) -> None:
    digits = raw.strip().replace(" ", "").replace("-", "")
    assert normalize(raw) == (_parsed(digits, "ID") if digits else None)
