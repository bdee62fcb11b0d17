"""Region detection: which Kemendagri region a short informal text talks about.

The index is built once from the region CSV and `config/routing/places.toml`
(aliases, markers, common words).  At decision time only dictionary look-ups
over the text's n-grams run, plus a cached fuzzy match for the few tokens that
follow a place marker ("kab", "di", ...) without matching anything exactly.

Evidence is weighed, not taken first-come: a kabupaten/kota name counts more
after "kab"/"kota"; a kecamatan or desa counts fully only after its marker
("kec", "desa", "kel"), because thousands of desa are named like ordinary words;
unmarked kecamatan/desa names only refine a province or kabupaten/kota the text
already names, or stand alone when unique and not a common word.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz, process

from routing.text import longest_from, normalise, tokens

LEVEL_NAMES = {1: "provinsi", 2: "kabupaten_kota", 3: "kecamatan", 4: "desa"}
_MAX_PHRASE = 4
_FUZZY_CUTOFF = 86.0
_FUZZY_MIN_LEN = 5
_FUZZY_CUTOFF_UNMARKED = 90.0  # one dropped or doubled letter in a 6+ letter name
_FUZZY_MIN_LEN_UNMARKED = 6
_FUZZY_MARKERS = frozenset({"kabupaten", "kota", "provinsi", "cabang", "lokasi", "hint"})
_FUZZY_CACHE_MAX = 50_000
_TIE_MARGIN = 0.25
_PREFIX = re.compile(r"^(kabupaten administrasi|kota administrasi|kabupaten|kota) ")

# Evidence weights by (level of the matched region, kind of marker before it).
_W_PROVINCE = 1.0
_W_KAB_MARKED = 2.0
_W_KAB_LOCATIVE = 1.2
_W_KAB_BARE = 1.0
_W_KEC_MARKED = 1.5
_W_KEC_UNIQUE = 0.8
_W_DESA_MARKED = 1.2
_W_WEAK = 0.5
_W_FUZZY = 0.8
_W_HINT = 3.0
_W_STREET = 0.5
_KAB_OF_KOTA_NAME = 0.6  # "bandung" alone means Kota Bandung more often than the kabupaten
_PROVINCE_BONUS = 0.5


def level_of(code: str) -> int:
    """1 province, 2 kabupaten/kota, 3 kecamatan, 4 desa/kelurahan."""
    return code.count(".") + 1


def is_kota(code: str) -> bool:
    """Kabupaten/kota codes 71-99 are kota."""
    return int(code[3:5]) >= 71


@dataclass(frozen=True, slots=True)
class RegionMatch:
    """The region a text names, at the most specific level that is certain."""

    code: str
    name: str
    level: str
    evidence: str  # the words that decided, as typed (normalised)
    score: float


@dataclass(slots=True)
class _Mention:
    start: int
    end: int
    phrase: str
    marker: str  # "", or a marker kind from places.toml: kabupaten, kota, kecamatan, ...
    entries: list[tuple[str, float]]  # (region code, weight)
    strong: bool


class RegionIndex:
    """All Kemendagri regions, indexed by normalised name, alias and marker."""

    def __init__(
        self,
        rows: Iterable[tuple[str, str]],
        places: dict,
        extra_common_words: Iterable[str] = (),
    ) -> None:
        self.names: dict[str, str] = {}
        self._by_name: dict[str, list[str]] = defaultdict(list)
        self._children: dict[str, list[str]] = defaultdict(list)
        for code, raw in rows:
            name = raw.strip()
            self.names[code] = name
            self._children[code.rsplit(".", 1)[0] if "." in code else ""].append(code)
            for key in _name_keys(code, name):
                self._by_name[key].append(code)
        for alias, codes in places["aliases"].items():
            for code in reversed(_code_list(codes)):
                self._by_name[normalise(alias)].insert(0, code)
        for town, codes in places.get("capitals", {}).items():
            self._by_name[normalise(town)].extend(_code_list(codes))
        self._markers = {
            normalise(word): kind for kind, words in places["markers"].items() for word in words
        }
        self._common = {normalise(w) for w in places["common_words"]["words"]}
        self._common.update(normalise(w) for w in extra_common_words)
        # Fuzzy matching is bounded to province, kabupaten/kota and alias names.
        self._fuzzy_choices = sorted(
            key
            for key, codes in self._by_name.items()
            if len(key) >= _FUZZY_MIN_LEN and any(level_of(c) <= 2 for c in codes)
        )
        self._fuzzy_by_initial: dict[str, list[str]] = defaultdict(list)
        for key in self._fuzzy_choices:
            self._fuzzy_by_initial[key[0]].append(key)
        self._fuzzy_cache: dict[tuple[str, bool], str | None] = {}
        self._longest_from = longest_from(self._by_name)

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[tuple[str, str]],
        places_path: Path,
        extra_common_words: Iterable[str] = (),
    ) -> RegionIndex:
        """Index region CSV rows with the aliases, markers and common words of places.toml."""
        with places_path.open("rb") as handle:
            places = tomllib.load(handle)
        return cls(rows, places, extra_common_words)

    def place_words(self) -> frozenset[str]:
        """Words of province, kabupaten/kota and alias names, and the place markers.

        The sector model ignores them: in a corpus this small a town name is
        learned as sector evidence (the few PLN letters came from one kabupaten).
        Words that are also ordinary words ("tanah", "air") stay out of this set
        when `extra_common_words` (the rules' vocabulary) lists them.
        """
        words = {
            word
            for key, codes in self._by_name.items()
            if any(level_of(c) <= 2 for c in codes)
            for word in key.split(" ")
        }
        words.update(self._markers)
        return frozenset(words - self._common)

    # ----------------------------------------------------------------- naming
    def display_name(self, code: str) -> str:
        """Readable name with its parents: "Kec. Sukajadi, Kota Bandung"."""
        level = level_of(code)
        name = self.names[code]
        if level == 3:
            return f"Kec. {name}, {self.names[code[:5]]}"
        if level == 4:
            kind = "Kel." if code[-4] == "1" else "Desa"
            return f"{kind} {name}, Kec. {self.names[code[:8]]}, {self.names[code[:5]]}"
        return name

    def names_in_text(self, code: str, normalised_text: str) -> bool:
        """Whether a name or alias of kabupaten/kota or province `code` occurs in the text."""
        padded = f" {normalised_text} "
        return any(f" {key} " in padded for key, codes in self._by_name.items() if code in codes)

    # -------------------------------------------------------------- detection
    def detect(self, toks: list[str], hint_toks: Sequence[str] = ()) -> RegionMatch | None:
        """The region a tokenised text (and a separately given place) talks about, or None."""
        mentions = self._mentions(toks)
        if hint_toks:
            for mention in self._mentions(list(hint_toks), from_hint=True):
                mention.entries = [(code, w * _W_HINT) for code, w in mention.entries]
                mentions.append(mention)
        return self._resolve(mentions)

    def match_regions(self, text: str, limit: int = 5) -> list[tuple[str, str, float]]:
        """Candidate kabupaten/kota or provinces for a typed place, best first, score 0..1."""
        scores: dict[str, float] = {}
        for mention in self._mentions(tokens(text), from_hint=True):
            for code, weight in mention.entries:
                target = code[:5] if level_of(code) >= 2 else code
                scores[target] = max(scores.get(target, 0.0), min(1.0, weight / _W_KAB_MARKED))
        query = normalise(_PREFIX.sub("", normalise(text)))
        for key, score, _ in process.extract(
            query, self._fuzzy_choices, scorer=fuzz.WRatio, limit=limit * 2
        ):
            for code in self._by_name[key]:
                if level_of(code) <= 2:
                    scores[code] = max(scores.get(code, 0.0), score / 100.0 * 0.9)
        best = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return [(code, self.display_name(code), round(score, 3)) for code, score in best]

    def _mentions(self, toks: list[str], from_hint: bool = False) -> list[_Mention]:
        mentions: list[_Mention] = []
        start = 0
        while start < len(toks):
            if toks[start] in self._markers:
                start += 1  # a marker names no place itself; it qualifies the next words
                continue
            marker = self._marker_before(toks, start, from_hint)
            found = self._longest_at(toks, start, marker) or self._fuzzy_at(toks, start, marker)
            if found is None:
                start += 1
                continue
            mentions.append(found)
            start = found.end
        return mentions

    def _marker_before(self, toks: list[str], start: int, from_hint: bool) -> str:
        if start > 0 and toks[start - 1] in self._markers:
            return self._markers[toks[start - 1]]
        # "kab. administrasi kepulauan seribu", "kota adm jakarta selatan"
        if start > 1 and toks[start - 1] in ("administrasi", "adm"):
            return self._markers.get(toks[start - 2], "")
        return "hint" if from_hint else ""

    def _longest_at(self, toks: list[str], start: int, marker: str) -> _Mention | None:
        longest = min(_MAX_PHRASE, self._longest_from.get(toks[start], 0))
        for end in range(min(len(toks), start + longest), start, -1):
            phrase = " ".join(toks[start:end])
            codes = self._by_name.get(phrase)
            if not codes:
                continue
            mention = self._weigh(start, end, phrase, marker, codes)
            if mention is not None:
                return mention
        return None

    def _fuzzy_at(self, toks: list[str], start: int, marker: str) -> _Mention | None:
        """Typo tolerance ("kab sijunjng", "di smarang", "palembng"), cached per phrase.

        After a marker one or two words are tried against every kabupaten/kota,
        province and alias name. Without a marker only one long word is tried,
        with a stricter cut-off and only against names sharing its first letter
        (typos rarely hit it): this catches "makasar" while "sampah" (a rule
        word, so a common word) or "pelayanan" never become places.
        """
        unmarked = marker == ""
        if not unmarked and marker not in _FUZZY_MARKERS:
            return None
        ends = (start + 1,) if unmarked else (start + 2, start + 1)
        for end in ends:
            if end > len(toks):
                continue
            phrase = " ".join(toks[start:end])
            min_len = _FUZZY_MIN_LEN_UNMARKED if unmarked else _FUZZY_MIN_LEN
            if len(phrase) < min_len or phrase in self._common:
                continue
            key = self._fuzzy_key(phrase, unmarked)
            if key is not None:
                mention = self._weigh(start, end, phrase, marker, self._by_name[key])
                if mention is not None:
                    mention.entries = [(c, w * _W_FUZZY) for c, w in mention.entries]
                    mention.phrase = f"{phrase}~{key}"
                    return mention
        return None

    def _fuzzy_key(self, phrase: str, unmarked: bool) -> str | None:
        cache_key = (phrase, unmarked)
        if cache_key not in self._fuzzy_cache:
            if len(self._fuzzy_cache) >= _FUZZY_CACHE_MAX:
                self._fuzzy_cache.clear()
            if unmarked:
                choices = self._fuzzy_by_initial.get(phrase[0], [])
                cutoff = _FUZZY_CUTOFF_UNMARKED
            else:
                choices, cutoff = self._fuzzy_choices, _FUZZY_CUTOFF
            hit = process.extractOne(phrase, choices, scorer=fuzz.ratio, score_cutoff=cutoff)
            self._fuzzy_cache[cache_key] = hit[0] if hit else None
        return self._fuzzy_cache[cache_key]

    def _weigh(
        self, start: int, end: int, phrase: str, marker: str, codes: list[str]
    ) -> _Mention | None:
        """Which of the regions named `phrase` are plausible after `marker`, and how much."""
        if marker == "jalan":
            return self._weigh_after_street(start, end, phrase, codes)
        common = phrase in self._common
        by_level: dict[int, list[str]] = defaultdict(list)
        for code in codes:
            by_level[level_of(code)].append(code)
        entries: list[tuple[str, float]] = []
        strong = False
        upper_ok = marker in ("kabupaten", "kota", "provinsi", "cabang", "lokasi", "hint")
        if not common or upper_ok:
            if marker not in ("kabupaten", "kota"):
                entries += [(c, _W_PROVINCE) for c in by_level[1]]
            entries += self._weigh_kabupaten_kota(by_level[2], marker)
            strong = bool(entries)
        if marker in ("kecamatan", "hint") or (marker == "" and not entries and not common):
            kec = by_level[3]
            if marker or (len(kec) == 1 and len(phrase) >= 6 and not by_level[4]):
                entries += [(c, _W_KEC_MARKED if marker else _W_KEC_UNIQUE) for c in kec]
                strong = strong or bool(kec)
            else:
                entries += [(c, _W_WEAK / len(kec)) for c in kec]
        if marker in ("desa", "hint"):
            entries += [(c, _W_DESA_MARKED / len(by_level[4])) for c in by_level[4]]
            strong = strong or bool(by_level[4])
        elif not entries and not common and by_level[4] and len(phrase) >= 5:
            entries += [(c, _W_WEAK / len(by_level[4])) for c in by_level[4]]
        if not entries:
            return None
        return _Mention(start, end, phrase, marker, entries, strong)

    def _weigh_after_street(
        self, start: int, end: int, phrase: str, codes: list[str]
    ) -> _Mention | None:
        """Streets are named after places (Jl. Ambon in Bandung): only a weak kab/kota vote."""
        if phrase in self._common:
            return None
        entries = [
            (code, weight * _W_STREET)
            for code, weight in self._weigh_kabupaten_kota(
                [c for c in codes if level_of(c) == 2], ""
            )
        ]
        return _Mention(start, end, phrase, "jalan", entries, True) if entries else None

    @staticmethod
    def _weigh_kabupaten_kota(codes: list[str], marker: str) -> list[tuple[str, float]]:
        if not codes:
            return []
        wanted = {"kabupaten": False, "kota": True}.get(marker)
        if wanted is not None and any(is_kota(c) == wanted for c in codes):
            return [(c, _W_KAB_MARKED) for c in codes if is_kota(c) == wanted]
        base = _W_KAB_LOCATIVE if marker in ("lokasi", "cabang", "hint") else _W_KAB_BARE
        has_kota = any(is_kota(c) for c in codes)
        return [
            (c, base if is_kota(c) or not has_kota else base * _KAB_OF_KOTA_NAME) for c in codes
        ]

    # ------------------------------------------------------------- resolution
    def _resolve(self, mentions: list[_Mention]) -> RegionMatch | None:
        """Weigh all mentions into one region, backing off to the level that is certain."""
        province_score: dict[str, float] = defaultdict(float)
        kab_score: dict[str, float] = defaultdict(float)
        kab_words: dict[str, list[str]] = defaultdict(list)
        for mention in mentions:
            if not mention.strong:
                continue
            for code, weight in _best_per_kab(mention.entries):
                if level_of(code) == 1:
                    province_score[code] += weight
                else:
                    kab_score[code[:5]] += weight
                    kab_words[code[:5]].append(mention.phrase)
        supported = {code[:2] for code in kab_score} | set(province_score)
        for mention in mentions:
            if mention.strong:
                continue
            for code, weight in _best_per_kab(mention.entries):
                if code[:2] in supported and level_of(code) >= 2:
                    kab_score[code[:5]] += weight
                    kab_words[code[:5]].append(mention.phrase)
        if not kab_score:
            return self._province_only(province_score)
        ranked = sorted(
            (
                (score + _PROVINCE_BONUS * province_score.get(code[:2], 0.0), code)
                for code, score in kab_score.items()
            ),
            reverse=True,
        )
        best_score, best = ranked[0]
        if len(ranked) > 1 and best_score - ranked[1][0] < _TIE_MARGIN:
            tied = [code for score, code in ranked if best_score - score < _TIE_MARGIN]
            if len({code[:2] for code in tied}) == 1:
                words = sorted({w for code in tied for w in kab_words[code]})
                province = tied[0][:2]
                return self._match(province, " + ".join(words), best_score)
            return self._province_only(province_score)
        code = self._refine(best, mentions)
        return self._match(code, " + ".join(dict.fromkeys(kab_words[best])), best_score)

    def _province_only(self, province_score: dict[str, float]) -> RegionMatch | None:
        if not province_score:
            return None
        ranked = sorted(province_score.items(), key=lambda item: -item[1])
        if len(ranked) > 1 and ranked[0][1] - ranked[1][1] < _TIE_MARGIN:
            return None
        code, score = ranked[0]
        return self._match(code, self.names[code], score)

    def _refine(self, kab: str, mentions: list[_Mention]) -> str:
        """The kecamatan or desa inside `kab` the text names unambiguously, else `kab`."""
        best = kab
        for mention in mentions:
            inside = {c for c, _ in mention.entries if c.startswith(kab + ".")}
            if len(inside) != 1:
                continue
            (code,) = inside
            marked = mention.strong or level_of(code) == 3
            if (
                marked
                and level_of(code) > level_of(best)
                and (level_of(best) == 2 or code.startswith(best + "."))
            ):
                best = code
        return best

    def _match(self, code: str, evidence: str, score: float) -> RegionMatch:
        return RegionMatch(
            code=code,
            name=self.display_name(code),
            level=LEVEL_NAMES[level_of(code)],
            evidence=evidence,
            score=score,
        )


def _code_list(codes: str | list[str]) -> list[str]:
    """A places.toml value: one code, or a list when the name is shared ("tanjung")."""
    return [codes] if isinstance(codes, str) else codes


def _best_per_kab(entries: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """One entry per kabupaten/kota (or province): a name found twice in one kab counts once."""
    best: dict[str, tuple[str, float]] = {}
    for code, weight in entries:
        key = code[:5] if level_of(code) >= 2 else code
        if key not in best or weight > best[key][1]:
            best[key] = (code, weight)
    return list(best.values())


def _name_keys(code: str, name: str) -> set[str]:
    """Look-up keys of a region name: "Kota Palangka Raya" -> palangka raya, palangkaraya."""
    key = normalise(name)
    if level_of(code) == 2:
        key = _PREFIX.sub("", key)
    keys = {key}
    if " " in key and level_of(code) <= 2:
        keys.add(key.replace(" ", ""))
    return {k for k in keys if k}
