"""PII detection and pseudonymisation for dealership conversations (presidio + spaCy).

Only the PII step reads raw text; everything downstream sees `redact()`ed text.
"""
