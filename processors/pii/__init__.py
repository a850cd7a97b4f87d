"""PII detection and pseudonymisation for dealership conversations (presidio + spaCy).

Only the PII step reads raw text; everything downstream sees `redact()`ed text.
"""

import os

# presidio's EmailRecognizer uses tldextract, which otherwise fetches the public suffix list.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
