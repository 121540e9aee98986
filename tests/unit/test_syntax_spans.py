"""SpanIndex: lazily shifted blocks behave exactly like an eagerly shifted list."""

from __future__ import annotations

import random
from typing import NamedTuple

import pytest

from lsp_server.syntax import spans
from lsp_server.syntax.spans import Entry, SpanIndex


class Item(NamedTuple):
    start: int
    end: int
    mark: int   # a position inside [start, end] (like a definition's name token)
    ident: int  # identity, never shifted

    def shifted(self, delta: int) -> Item:
        return Item(self.start + delta, self.end + delta, self.mark + delta, self.ident)


def item_key(item: Item) -> tuple[int, int]:
    return item.start, item.mark


class Model:
    """The reference: a plain dict of items at their real offsets, shifted eagerly."""

    def __init__(self) -> None:
        self.items: dict[int, Item] = {}

    def apply_edit(self, start: int, old_end: int, new_end: int) -> set[int]:
        removed = {i for i, it in self.items.items() if it.start <= old_end and it.end >= start}
        for ident in removed:
            del self.items[ident]
        delta = new_end - old_end
        self.items = {
            i: it.shifted(delta) if it.start > old_end else it for i, it in self.items.items()
        }
        return removed

    def overlapping(self, lo: int, hi: int) -> list[int]:
        hits = [it for it in self.items.values() if it.start < hi and it.end > lo]
        return [it.ident for it in sorted(hits, key=lambda it: (item_key(it), it.ident))]


def check(index: SpanIndex[Item], model: Model, live: dict[int, Entry[Item]]) -> None:
    items = index.items()
    assert len(index) == len(items) == len(model.items)
    assert sorted(items, key=lambda it: it.ident) == sorted(model.items.values(), key=lambda it: it.ident)
    keys = [item_key(it) for it in items]
    assert keys == sorted(keys)
    for ident, entry in live.items():
        assert entry.item() == model.items[ident]
        assert index.entry_key(entry) == item_key(model.items[ident])
    for block in index._blocks:  # noqa: SLF001 - structural invariants
        assert block.entries, "no empty blocks"
        assert all(entry.block is block for entry in block.entries)
        assert block.max_end == max(entry.stored.end for entry in block.entries)


@pytest.fixture(params=[(4, 2), (64, 8)], ids=["tiny-blocks", "default-blocks"])
def block_sizes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spans, "BLOCK", request.param[0])
    monkeypatch.setattr(spans, "SMALL", request.param[1])


def random_item(rng: random.Random, size: int, ident: int) -> Item:
    start = rng.randint(0, size)
    end = start + rng.choice((1, 3, 10, 40, 200, 2000))
    return Item(start, end, rng.randint(start, end), ident)


def near_boundary(rng: random.Random, model: Model, size: int) -> int:
    """A random offset, often exactly at (or next to) an item's start or end."""
    if not model.items or rng.random() < 0.3:
        return rng.randint(0, size)
    item = rng.choice(list(model.items.values()))
    return max(0, min(size, rng.choice((item.start, item.end)) + rng.choice((-1, 0, 0, 1))))


@pytest.mark.usefixtures("block_sizes")
@pytest.mark.parametrize("seed", range(6))
def test_random_operations_match_an_eager_model(seed: int) -> None:
    rng = random.Random(seed)
    size = 5000
    index: SpanIndex[Item] = SpanIndex(Item, ("start", "mark"))
    model = Model()
    initial = [random_item(rng, size, ident) for ident in range(rng.choice((0, 5, 150)))]
    live = {entry.stored.ident: entry for entry in index.reset(initial)}
    model.items = {it.ident: it for it in initial}
    next_ident = len(initial)
    check(index, model, live)
    focus = rng.randint(0, size)  # edits cluster around a moving point, like typing
    for _step in range(400):
        action = rng.random()
        if action < 0.45:
            start = focus if rng.random() < 0.6 else near_boundary(rng, model, size)
            old_end = min(size, start + rng.choice((0, 0, 0, 1, 5, 60, 700)))
            if rng.random() < 0.2:
                old_end = max(start, min(size, near_boundary(rng, model, size)))
            new_end = start + rng.choice((0, 1, 1, 2, 30, 400))
            removed = index.apply_edit(start, old_end, new_end)
            assert {e.stored.ident for e in removed} == model.apply_edit(start, old_end, new_end)
            for entry in removed:
                del live[entry.stored.ident]
            size += new_end - old_end
            focus = new_end
        elif action < 0.7:
            item = random_item(rng, size, next_ident)
            next_ident += 1
            live[item.ident] = index.insert(item)
            model.items[item.ident] = item
        elif action < 0.8 and live:
            ident = rng.choice(sorted(live))
            index.remove(live.pop(ident))
            del model.items[ident]
        elif action < 0.9:
            lo = near_boundary(rng, model, size)
            hi = lo + rng.choice((1, 2, 50, 500))
            remove = rng.random() < 0.5
            found = index.overlapping(lo, hi, remove=remove)
            assert sorted(e.stored.ident for e in found) == sorted(model.overlapping(lo, hi))
            assert [index.entry_key(e) for e in found] == sorted(index.entry_key(e) for e in found)
            if remove:
                for entry in found:
                    del live[entry.stored.ident]
                    del model.items[entry.stored.ident]
        elif model.items:
            target = rng.choice(list(model.items.values()))
            probe = Item(target.start, target.end + 7, target.mark, -1)
            found = index.find(probe)
            assert found is not None and item_key(found.item()) == item_key(target)
            assert index.find(Item(target.start, target.end, target.mark - 1, -1)) is None or any(
                item_key(it) == (target.start, target.mark - 1) for it in model.items.values()
            )
        check(index, model, live)


@pytest.mark.usefixtures("block_sizes")
def test_typing_at_one_point_keeps_blocks_few() -> None:
    """Repeated edits at one spot split at most once there; nothing degenerates."""
    index: SpanIndex[Item] = SpanIndex(Item, ("start", "mark"))
    index.reset(Item(i * 100, i * 100 + 50, i * 100 + 4, i) for i in range(1000))
    blocks = len(index._blocks)  # noqa: SLF001
    point = 50_020
    for _ in range(300):
        index.apply_edit(point, point, point + 1)
        point += 1
    assert len(index._blocks) <= blocks + 1  # noqa: SLF001
    assert [it.start for it in index.items()] == [
        i * 100 + (300 if i * 100 > 50_020 else 0) for i in range(1000) if i != 500  # 500 held the point
    ]


def test_empty_index() -> None:
    index: SpanIndex[Item] = SpanIndex(Item, ("start", "mark"))
    assert index.items() == [] and index.overlapping(0, 10) == [] and index.find(Item(0, 1, 0, 0)) is None
    assert index.apply_edit(0, 5, 1) == []
    entry = index.insert(Item(3, 9, 4, 1))
    assert entry.item() == Item(3, 9, 4, 1) and len(index) == 1
    assert index.apply_edit(0, 1, 3) == []
    assert entry.item() == Item(5, 11, 6, 1)
    index.remove(entry)
    assert index.items() == [] and len(index) == 0
