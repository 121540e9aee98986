"""UnitPlan and UnitPlans: a planned review unit is one flat tuple the garbage collector
stops tracking, and a plan hands out views (issue 12 item 9: planning a 3.9 MB file made
70,000 tracked unit objects and set off eight full collections of 30-55 ms)."""

from __future__ import annotations

import dataclasses
import gc

import pytest

from lsp_server.config import DEFAULT_SECRET_GLOBS
from lsp_server.core.secrets import SecretFilter
from lsp_server.engines.review_plan import ReviewPlan, UnitPlan, UnitPlans, plan_review
from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.languages import SPECS, LanguageRegistry
from lsp_server.syntax.units import ReviewUnit
from tests.worst_inputs import big_file

MESSAGES = [
    {"role": "system", "content": "Review the code."},
    {"role": "user", "content": "def f(x):\n    return x\n", "name": "unit"},
]


def _unit(messages: list[dict[str, object]] = MESSAGES) -> UnitPlan:  # noqa: B006 - read only
    return UnitPlan(ReviewUnit("function", "f", (3, 4, 5), "def f(x):"), ("def f(x):", "    y = x", "    return y"),
                    "k" * 64, messages)


def test_a_unit_plan_gives_back_what_it_was_made_of() -> None:
    plan = _unit()
    assert plan.unit == ReviewUnit("function", "f", (3, 4, 5), "def f(x):")
    assert plan.rows == (3, 4, 5)
    assert plan.lines == ("def f(x):", "    y = x", "    return y")
    assert plan.key == "k" * 64
    assert plan.messages == MESSAGES and plan.has_messages
    assert plan.messages is not plan.messages  # a new list each time: callers extend it
    cached = _unit([])
    assert cached.messages == [] and not cached.has_messages
    assert cached == plan and hash(cached) == hash(plan)  # messages are not compared
    assert UnitPlan.of_raw(plan.raw) == plan and UnitPlan.of_raw(plan.raw).messages == MESSAGES
    assert "2 messages" in repr(plan)


def test_no_rows_no_lines_and_empty_messages() -> None:
    plan = UnitPlan(ReviewUnit("code", "", (), ""), (), "k", [{}, {"role": "user"}])
    assert plan.rows == () and plan.lines == ()
    assert plan.messages == [{}, {"role": "user"}]


def test_the_raw_tuple_leaves_the_collectors_books() -> None:
    plan = _unit()
    raw = plan.raw
    assert type(raw) is tuple and all(not isinstance(item, (list, dict, tuple)) for item in raw)
    gc.collect()
    assert not gc.is_tracked(raw)


def test_unit_plans_is_a_sequence_of_views() -> None:
    units = UnitPlans([_unit(), _unit([]).raw])
    assert len(units) == 2 and bool(units) and not UnitPlans()
    assert units[0] == units[1] and isinstance(units[0], UnitPlan)
    assert [u.key for u in units] == ["k" * 64] * 2
    assert isinstance(units[:1], UnitPlans) and len(units[:1]) == 1
    assert units == (units[0], units[1]) and units == UnitPlans(list(units))
    assert units[-1].messages == []
    with pytest.raises(IndexError):
        units[2]  # noqa: B018


def test_a_review_plan_keeps_raw_tuples_whatever_it_was_given() -> None:
    plan = ReviewPlan("a.py", None, None, "python", (_unit(),))
    assert isinstance(plan.units, UnitPlans) and plan.units[0].messages == MESSAGES
    fewer = dataclasses.replace(plan, units=tuple(u for u in plan.units if u.rows[0] > 10))
    assert isinstance(fewer.units, UnitPlans) and not fewer.units


def test_planning_a_big_file_leaves_no_tracked_object_per_unit() -> None:
    registry = LanguageRegistry()
    doc = SyntaxDocument(big_file("python", 400_000), SPECS["python"], registry)
    doc.outline.refresh(None)
    gc.collect()
    before = len(gc.get_objects())
    plan = plan_review(doc, "big.py", secrets=SecretFilter(DEFAULT_SECRET_GLOBS), fingerprint="f")
    gc.collect()
    assert len(plan.units) > 5_000
    assert len(gc.get_objects()) - before < 200, "an object per unit is still tracked"
