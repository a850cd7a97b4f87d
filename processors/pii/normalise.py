"""Unicode normalisation before analysis, with a map back to the original offsets.

Disguises that defeat regexes and NER: zero-width and other format characters inside a
number or a name ("123\u200b-45-6789"), soft hyphens ("Ma\u00adria"), decomposed accents
("Je\u0301ro\u0302me"), full-width or other compatibility digits ("\uff11\uff12\uff13").
`normalise` removes format characters (Unicode category Cf, which includes the soft hyphen,
zero-width space/joiners, word joiner, BOM and bidi controls, and the other default-ignorable
code points such as U+034F and the variation selectors) and applies NFKC per cluster
(a base character with its combining marks), so the analyzer sees "Maria", "Jérôme", "123".

Invariant: every character of the normalised text comes from exactly one cluster of the
original, and `to_original(start, end)` returns the smallest original span covering the
clusters of normalised [start, end) — so redacting the mapped span removes every character,
disguise included, of what was found.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

#: default-ignorable characters outside category Cf: combining grapheme joiner, Hangul
#: fillers, Khmer inherent vowels, Mongolian variation selectors, variation selectors
_IGNORABLE = frozenset(
    [0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0, *range(0x180B, 0x1810),
     *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)])


def _is_format(ch: str) -> bool:
    """Invisible: category Cf or another default-ignorable code point."""
    return unicodedata.category(ch) == "Cf" or ord(ch) in _IGNORABLE


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M")


@dataclass(frozen=True)
class Normalised:
    """A normalised text; `starts[i]` / `ends[i]` is the original span of its character i."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    original_length: int

    @property
    def changed(self) -> bool:
        return len(self.starts) != self.original_length or any(
            s != i for i, s in enumerate(self.starts))

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The original span covering normalised [start, end) (end exclusive, start < end)."""
        if not self.starts:
            return (0, 0)
        last = min(end, len(self.ends)) - 1
        return (self.starts[min(start, len(self.starts) - 1)], self.ends[max(last, 0)])


def normalise(text: str) -> Normalised:
    """`text` without format characters and NFKC-normalised per cluster (see module doc)."""
    if text.isascii():
        n = len(text)
        return Normalised(text, tuple(range(n)), tuple(range(1, n + 1)), n)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        if _is_format(text[i]):
            i += 1
            continue
        j = i + 1
        while j < n and (_is_mark(text[j]) or _is_format(text[j])):
            j += 1
        cluster = "".join(c for c in text[i:j] if not _is_format(c))
        for ch in unicodedata.normalize("NFKC", cluster):
            out.append(ch)
            starts.append(i)
            ends.append(j)
        i = j
    return Normalised("".join(out), tuple(starts), tuple(ends), n)


def normal_form(text: str) -> str:
    """The normalised text only (pseudonym book keys: "Ma\u00adria" is "Maria")."""
    return normalise(text).text
