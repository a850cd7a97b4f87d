"""Benchmarks: every AI step and projection against the bare library it wraps.

`bench/run.py` (`auterity bench`) runs them all and prints one table; each area has its own
module (`kafka_bench`, `pii_bench`, `postgres_bench`, `clickhouse_bench`, `llm_bench`,
`ocr_bench`, `voice_bench`), with `table` for rows and printing, `kafka_topics` for the
bench's Kafka helpers and `stack_session` for starting and stopping the local stack.
"""

# Offline environment defaults (LiteLLM's local price map, tldextract, OMP threads) must be set
# before an area module imports litellm or presidio itself: importing processors.llm sets them.
import processors.llm  # noqa: F401
