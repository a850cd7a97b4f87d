"""The AI steps as plain functions and classes: no Kafka inside, importing only schemas/.

Importing any processor first sets the offline environment defaults every step relies on
(the one place they are set; an operator's own values win):
- TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="": presidio's email recognizer uses tldextract, which
  otherwise fetches the public suffix list from the network on first use;
- OMP_THREAD_LIMIT=1: Tesseract runs one thread per page (about 5x faster per page on these
  machines); parallelism comes from the step's process pool instead.
Spawned pool workers inherit the environment, so they see the same values.
"""

import os

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
