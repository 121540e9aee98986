"""How the server keeps full garbage collections short: what lives for good leaves the
collector's books once start-up is over.

CPython's cyclic garbage collector holds the GIL, and so the event loop, for a time
proportional to the number of objects it tracks: about 40-90 ms for the 100,000-150,000
objects of the imported modules and the loaded tokenizer. They live as long as the
process, so once start-up is over they are collected once and frozen (``gc.freeze``):
no later collection visits them. What the server builds per document keeps the count
of tracked objects low by design (plain tuples of strings and numbers, which the
collector stops tracking: ``syntax/spans.py``, ``engines/review_plan.UnitPlan``,
``index/symbols.FileSymbols``); ``scripts/bench_worst_case.py`` measures the stalls.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> int:
    """Collect once, then move every object tracked so far out of the collector's sight;
    the number of objects frozen (the permanent generation's size)."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
