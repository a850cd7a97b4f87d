"""The exact-match response cache: what makes two calls the same, expiry, size, copies."""

from __future__ import annotations

import time

from processors.llm.cache import ResponseCache, cache_key

MSGS = [{"role": "user", "content": "Text customers 3 days before service"}]


def test_keys_ignore_whitespace_and_unicode_form_but_not_meaning() -> None:
    base = cache_key("m", MSGS, {"temperature": 0})
    spaced = [{"role": "user", "content": "  Text customers\n3 days   before service "}]
    assert cache_key("m", spaced, {"temperature": 0}) == base
    decomposed = [{"role": "user", "content": "Je\u0301ro\u0302me"}]
    composed = [{"role": "user", "content": "J\u00e9r\u00f4me"}]
    assert cache_key("m", decomposed, {}) == cache_key("m", composed, {})
    assert cache_key("m", [{"role": "user", "content": "text customers 3 days before "
                                                      "service"}], {"temperature": 0}) != base
    assert cache_key("other", MSGS, {"temperature": 0}) != base
    assert cache_key("m", MSGS, {"temperature": 0.7}) != base
    assert cache_key("m", [{"role": "system", "content": MSGS[0]["content"]}],
                     {"temperature": 0}) != base


def test_a_hit_is_a_copy_and_names_the_model() -> None:
    cache = ResponseCache(ttl_s=60, max_entries=10)
    key = cache_key("m", MSGS, {})
    assert cache.get(key) is None
    cache.put(key, {"steps": [1, 2]}, "mini")
    answer, model = cache.get(key) or ({}, "")
    assert answer == {"steps": [1, 2]} and model == "mini"
    answer["steps"].append(3)  # the caller changing its answer does not change the cache
    assert (cache.get(key) or ({}, ""))[0] == {"steps": [1, 2]}


def test_entries_expire_and_the_size_is_bounded() -> None:
    cache = ResponseCache(ttl_s=0.2, max_entries=2)
    for n in range(3):
        cache.put(f"k{n}", {"n": n}, "m")
    assert len(cache) == 2 and cache.get("k0") is None  # the least recently used went
    deadline = time.monotonic() + 5
    while cache.get("k2") is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cache.get("k2") is None


def test_a_cache_of_size_zero_stores_nothing() -> None:
    cache = ResponseCache(ttl_s=60, max_entries=0)
    cache.put("k", {"a": 1}, "m")
    assert cache.get("k") is None and len(cache) == 0
