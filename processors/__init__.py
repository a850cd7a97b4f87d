"""The AI steps as plain functions and classes: no Kafka inside, importing only schemas/.

Importing any processor first sets the one offline default the steps rely on (an operator's
own value wins): TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="", since presidio's email recognizer
uses tldextract, which otherwise fetches the public suffix list from the network on first
use. Spawned pool workers inherit it. (OMP_THREAD_LIMIT=1 for Tesseract is set by the OCR
engine alone, processors/ocr/engine.py: set package-wide it would also cap llama.cpp, which
is built with OpenMP, to one thread in the worker process.)
"""

import os

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
