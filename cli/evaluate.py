"""`auterity eval pii DATASET`: token-level PII removal, ours beside stock presidio."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench.corpora.dealership_pii import REPORTED_SEED
from runtime.settings import Settings

DATASETS_HELP = ("a presidio-evaluator JSON list or a JSONL file of {text, spans:[{type, "
                 "start, end}]}; `synth_dataset_v2` is presidio-evaluator's set (fetched by "
                 "set-up); `dealership` generates the dealership corpus; "
                 "`dealership-handwritten` is the hand-written held-out one")


def resolve_dataset(name: str, tmp_dir: Path, seed: int = REPORTED_SEED) -> Path:
    from processors.pii.evaluation import SYNTH_DATASET, synth_dataset_path

    if name == SYNTH_DATASET:
        path = synth_dataset_path()
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: run `make setup` (it fetches "
                                    f"presidio-evaluator 0.3.2 from PyPI)")
        return path
    if name == "dealership-handwritten":
        from bench.corpora.dealership_handwritten import write_jsonl as write_handwritten

        path = tmp_dir / "dealership_handwritten.jsonl"
        write_handwritten(path)
        return path
    if name == "dealership":
        from bench.corpora.dealership_pii import write_jsonl

        path = tmp_dir / "dealership_pii.jsonl"
        write_jsonl(path, seed=seed)
        return path
    return Path(name)


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    import tempfile

    from processors.pii.engine import PiiAnalyzer, analyzer_spans, stock_presidio
    from processors.pii.evaluation import KEEP_TYPES, evaluate, load_dataset, split

    with tempfile.TemporaryDirectory() as tmp:
        items = split(load_dataset(resolve_dataset(args.dataset, Path(tmp), args.seed)),
                      args.split)
    from processors.pii.redaction import second_ner_enabled

    # the analyzer the pipeline runs: AUTERITY_PII_SECOND_NER applies here too
    redactors = {"ours": analyzer_spans(PiiAnalyzer(second_ner=second_ner_enabled()))}
    if not args.no_stock:
        redactors["stock presidio"] = stock_presidio()
    started = time.perf_counter()
    scores = evaluate(items, redactors)
    seconds = time.perf_counter() - started
    ours = scores["ours"]
    stock = scores.get("stock presidio")
    if args.json:
        out: dict[str, Any] = {name: {"removal": {t: s.removal(t) for t in s.tokens},
                                      "personal_removal": s.personal_removal(),
                                      "pii_removal": s.pii_removal(), "kept": s.kept_share()}
                               for name, s in scores.items()}
        print(json.dumps({"dataset": args.dataset, "split": args.split, "texts": len(items),
                          **out}, indent=2))
        return 0
    print(f"{args.dataset} ({args.split}): {len(items)} texts, {seconds:.1f} s")
    head = f"{'type':<20} {'tokens':>7} {'ours':>6}" + (f" {'stock':>6}" if stock else "")
    print(head)
    for t in sorted(ours.tokens, key=lambda t: -ours.tokens[t]):
        note = "  (kept on purpose)" if t in KEEP_TYPES else ""
        line = f"{t:<20} {ours.tokens[t]:>7} {ours.removal(t):>6.3f}"
        print(line + (f" {stock.removal(t):>6.3f}" if stock else "") + note)
    for label, fn in (("personal-data tokens removed", "personal_removal"),
                      ("all PII tokens removed", "pii_removal"),
                      ("non-PII words kept", "kept_share")):
        row = f"{label:<28} {getattr(ours, fn)():>6.3f}"
        print(row + (f" {getattr(stock, fn)():>6.3f}" if stock else ""))
    for text, token, kind in ours.leaks[: args.leaks]:
        print(f"leak {kind:<16} {token!r:<20} in {text[:90]!r}")
    for text, word in ours.lost[: args.lost]:
        print(f"lost {word!r:<20} in {text[:100]!r}")
    return 0


def add_eval_commands(sub: Any) -> None:
    s = sub.add_parser("eval", help="accuracy of a step on a labelled set (pii)",
                       description="Token-level PII removal per entity type and the share of "
                                   "other words kept, for our analyzer and stock presidio "
                                   "(default recognizers, same spaCy model) in the same run.")
    s.add_argument("step", choices=["pii"])
    s.add_argument("dataset", help=DATASETS_HELP)
    s.add_argument("--split", default="all", choices=["all", "dev", "held-out"],
                   help="presidio-evaluator sets: dev = even template ids (looked at while "
                        "tuning), held-out = odd ones (never looked at)")
    s.add_argument("--seed", type=int, default=REPORTED_SEED,
                   help="`dealership`: the generator's seed (default %(default)s)")
    s.add_argument("--no-stock", action="store_true", help="skip stock presidio")
    s.add_argument("--leaks", type=int, default=0, help="print the first N leaked tokens")
    s.add_argument("--lost", type=int, default=0,
                   help="print the first N non-PII words that were redacted")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(fn=cmd_eval)
