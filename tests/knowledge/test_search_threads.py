"""The search index is built and queried from the server's thread pool: stemming English words
from several threads at once gives the same stems as one thread (a shared snowball stemmer once
raised IndexError and crashed a desk page when two pages built the index together)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from kefu.knowledge import search

WORDS = [
    f"{stem}{suffix}"
    for stem in ("withdraw", "deposit", "transfer", "settle", "verif", "account", "trad", "charg")
    for suffix in ("ing", "ed", "ation", "ations", "ings", "s", "ably", "ment", "ments", "er")
]


def test_stemming_from_many_threads_matches_one_thread() -> None:
    stem = search._stem.__wrapped__  # the uncached function: every call really stems
    expected = [stem(w) for w in WORDS]

    def work(_: int) -> list[str]:
        return [stem(w) for _ in range(40) for w in WORDS][-len(WORDS) :]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(16)))
    assert all(r == expected for r in results)
