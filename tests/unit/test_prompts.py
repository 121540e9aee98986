"""Completion prompts: layout for the prefix cache, prefill, no stop strings."""

from __future__ import annotations

from lsp_server.model.prompts import CURSOR, DEFAULT_SYSTEM_PROMPT, CompletionInput, build_completion_prompt


def _input(**kw) -> CompletionInput:
    base = dict(path="m.py", language="python", before="import os\n\ndef f(x):\n    ", after="\n\nprint(f(1))\n",
                multiline=True)
    base.update(kw)
    return CompletionInput(**base)


def test_prefill_continues_the_current_line_inside_a_fence() -> None:
    prompt = build_completion_prompt(_input())
    assert prompt.messages[-1] == {"role": "assistant", "content": "```python\ndef f(x):\n    "}
    assert prompt.prefill_code == "def f(x):\n    "


def test_single_line_asks_for_the_rest_of_the_line() -> None:
    prompt = build_completion_prompt(_input(before="x = foo(", after=")\n", multiline=False))
    assert "on the current line only" in prompt.messages[1]["content"]
    assert prompt.messages[-1]["content"] == "```python\nx = foo("


def test_cursor_marker_between_before_and_after_and_stable_parts_first() -> None:
    prompt = build_completion_prompt(_input(imports=["import os"], signatures=["def g(y: int) -> str:"]))
    user = prompt.messages[1]["content"]
    assert f"    {CURSOR}\n\nprint(f(1))" in user
    assert user.index("def g(y: int)") < user.index(CURSOR)
    assert prompt.messages[0]["content"] == DEFAULT_SYSTEM_PROMPT


def test_nearby_cursor_positions_share_a_long_prefix() -> None:
    before = "".join(f"line_{i} = {i}\n" for i in range(200))
    a = build_completion_prompt(_input(before=before + "x = 1", after="\n"))
    b = build_completion_prompt(_input(before=before + "x = 12", after="\n"))
    ua, ub = a.messages[1]["content"], b.messages[1]["content"]
    common = next(i for i, (p, q) in enumerate(zip(ua, ub)) if p != q)
    assert common > 0.95 * len(ua)


def test_start_of_file_has_no_prefill() -> None:
    prompt = build_completion_prompt(_input(before="", after=""))
    assert prompt.prefill == "" and prompt.messages[-1]["role"] == "user"


def test_system_prompt_override() -> None:
    prompt = build_completion_prompt(_input(system_prompt="Be brief."))
    assert prompt.messages[0]["content"] == "Be brief."
