"""The AI actions in real headless Neovim (editor-clients/nvim): the :Mistral* commands, the actions in
vim.lsp.buf.code_action(), the instruction asked with vim.ui.input, the explanation in a float, a user
action from .mistral-lsp.toml, one undo step per action. Against the real server and the stand-in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.action_markers import action_of
from tests.editors.nvim import Nvim
from tests.standin import Reply, StandIn

pytestmark = pytest.mark.editor

CUSTOM = '''
[[actions.custom]]
name = "shout"
title = "Shout"
prompt = "Make the strings of this code upper case:\\n{code}"
scope = "selection"
'''

SHAPES = '''import math


def circle_area(radius):
    """Return the area of a circle."""
    raise NotImplementedError


def total_area(radii):
    total = 0.0
    for r in radii:
        total += circle_area(r)
    return total
'''


@pytest.fixture(scope="module", autouse=True)
def _custom_actions(workspace: Path) -> None:
    with (workspace / ".mistral-lsp.toml").open("a") as project:
        project.write(CUSTOM)


def _open(nvim: Nvim, workspace: Path, name: str, text: str) -> int:
    path = workspace / name
    path.write_text(text)
    bufnr = nvim.edit(path)
    nvim.wait_attached(bufnr)
    return bufnr


def _answer(standin: StandIn, **by_action: str) -> None:
    def respond(body: dict[str, Any]) -> Reply:
        return Reply(text=by_action.get(action_of(body), ""))

    standin.responder = respond


def _wait_lines(nvim: Nvim, expected: list[str], what: str) -> None:
    nvim.wait("vim.deep_equal(vim.api.nvim_buf_get_lines(0, 0, -1, true), ...)", what, 20.0, expected)


def _float_text(nvim: Nvim, needle: str) -> str:
    nvim.wait(
        "(function(needle) local lines = require('mistral_lsp.ui').open_float_lines() "
        "return lines and table.concat(lines, '\\n'):find(needle, 1, true) ~= nil end)(...)",
        f"a float showing {needle!r}", 20.0, needle,
    )
    return "\n".join(nvim.lua("return require('mistral_lsp.ui').open_float_lines()"))


def _stub_input(nvim: Nvim, answer: str) -> None:
    """vim.ui.input answers `answer` (and records the prompt it was asked with)."""
    nvim.lua("local answer = ...; MistralTest.prompts = {}; vim.ui.input = function(opts, done) "
             "table.insert(MistralTest.prompts, opts.prompt) done(answer) end", answer)


def test_implement_command_and_one_undo_step(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    _open(nvim, workspace, "shapes.py", SHAPES)
    _answer(standin, implement="    return math.pi * radius ** 2\n```")
    nvim.lua("vim.api.nvim_win_set_cursor(0, { 6, 4 }); vim.cmd('MistralImplement')")
    expected = SHAPES.replace("    raise NotImplementedError\n", "    return math.pi * radius ** 2\n")
    _wait_lines(nvim, expected.split("\n")[:-1], "the implementation")
    nvim.input("u")
    _wait_lines(nvim, SHAPES.split("\n")[:-1], "the buffer as before, after one undo")


def test_document_from_the_code_action_menu(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    _open(nvim, workspace, "shapes_doc.py", SHAPES)
    _answer(standin, document='Return the sum of the areas of circles of the given radii."""\n')
    titles = nvim.lua(
        "local c = vim.lsp.get_clients({ name = 'mistral_lsp' })[1]; "
        "vim.api.nvim_win_set_cursor(0, { 11, 8 }); local params = vim.lsp.util.make_range_params(0, c.offset_encoding); "
        "params.context = { diagnostics = {} }; "
        "local answer = c:request_sync('textDocument/codeAction', params, 10000, 0); "
        "return vim.tbl_map(function(a) return a.title end, answer.result)"
    )
    assert "Document with AI: total_area" in titles and "Optimise with AI: total_area" in titles
    nvim.lua("vim.lsp.buf.code_action({ apply = true, filter = function(a) "
             "return a.title == 'Document with AI: total_area' end })")
    expected = SHAPES.replace(
        "def total_area(radii):\n",
        'def total_area(radii):\n    """Return the sum of the areas of circles of the given radii."""\n')
    _wait_lines(nvim, expected.split("\n")[:-1], "the docstring")


def test_explain_shows_a_markdown_float(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    _open(nvim, workspace, "explain.py", "def mean(xs):\n    return sum(xs) / len(xs)\n")
    _answer(standin, explain="`mean` returns the **average** of `xs`.\n\n- An empty list raises `ZeroDivisionError`.")
    nvim.lua("vim.api.nvim_win_set_cursor(0, { 2, 4 }); vim.cmd('MistralExplain')")
    text = _float_text(nvim, "average")
    assert text == "`mean` returns the **average** of `xs`.\n\n- An empty list raises `ZeroDivisionError`."
    filetype = nvim.lua("for _, w in ipairs(vim.api.nvim_list_wins()) do if vim.w[w].mistral_lsp then "
                        "return vim.bo[vim.api.nvim_win_get_buf(w)].filetype end end")
    assert filetype == "markdown"
    title = nvim.lua("for _, w in ipairs(vim.api.nvim_list_wins()) do if vim.w[w].mistral_lsp then "
                     "return vim.w[w].mistral_lsp end end")
    assert title == "Explain with AI: mean"


def test_edit_with_an_instruction_on_a_range(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    _open(nvim, workspace, "shapes_edit.py", SHAPES)
    _answer(standin, edit="    return sum(circle_area(r) for r in radii)\n```")
    nvim.lua("vim.cmd('10,13MistralEdit use sum() with a generator')")
    expected = SHAPES.replace("    total = 0.0\n    for r in radii:\n        total += circle_area(r)\n    return total\n",
                              "    return sum(circle_area(r) for r in radii)\n")
    _wait_lines(nvim, expected.split("\n")[:-1], "the edited function")
    sent = [r.body for r in standin.chat_requests() if r.body and action_of(r.body) == "edit"][-1]
    assert "Instruction: use sum() with a generator" in sent["messages"][1]["content"]


def test_edit_asks_for_the_instruction(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    _open(nvim, workspace, "shapes_ask.py", SHAPES)
    _stub_input(nvim, "start from zero")
    _answer(standin, edit="    total = 0\n```")
    nvim.lua("vim.cmd('10MistralEdit')")
    _wait_lines(nvim, SHAPES.replace("    total = 0.0\n", "    total = 0\n").split("\n")[:-1], "the edited line")
    assert nvim.lua("return MistralTest.prompts") == ["Edit with AI: "]


def test_edit_from_the_code_action_menu_asks_too(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    _open(nvim, workspace, "shapes_menu.py", SHAPES)
    _stub_input(nvim, "count with an int")
    _answer(standin, edit="    total = 0\n```")
    nvim.lua("vim.lsp.buf.code_action({ apply = true, range = { start = { 10, 0 }, ['end'] = { 10, 14 } }, "
             "filter = function(a) return a.title:find('^Edit with AI') ~= nil end })")
    _wait_lines(nvim, SHAPES.replace("    total = 0.0\n", "    total = 0\n").split("\n")[:-1], "the edited line")
    assert nvim.lua("return MistralTest.prompts") == ["Edit with AI…: line 10: "]


def test_a_user_action_from_the_project_file(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    _open(nvim, workspace, "greet.py", 'def greet():\n    return "hello"\n')
    _answer(standin, other='    return "HELLO"\n```')
    listed = nvim.lua("vim.api.nvim_win_set_cursor(0, { 2, 4 }); "
                      "return vim.tbl_map(function(i) return i.action end, "
                      "require('mistral_lsp.actions').list(0, { start = { line = 1, character = 0 }, "
                      "['end'] = { line = 2, character = 0 } }))")
    assert "shout" in listed
    nvim.lua("vim.cmd('2MistralAction shout')")
    _wait_lines(nvim, ["def greet():", '    return "HELLO"'], "the user action's edit")


def test_go_keeps_its_tabs(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    text = "package stats\n\n// Sum returns the sum of xs.\nfunc Sum(xs []int) int {\n\tpanic(\"TODO\")\n}\n"
    _open(nvim, workspace, "stats.go", text)
    _answer(standin, implement="    total := 0\n    for _, x := range xs {\n        total += x\n    }\n    return total\n}\n```")
    nvim.lua("vim.api.nvim_win_set_cursor(0, { 5, 1 }); vim.cmd('MistralImplement')")
    _wait_lines(nvim, ["package stats", "", "// Sum returns the sum of xs.", "func Sum(xs []int) int {",
                       "\ttotal := 0", "\tfor _, x := range xs {", "\t\ttotal += x", "\t}", "\treturn total", "}"],
                "the Go implementation with tabs")


def test_a_refusal_is_said(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    _open(nvim, workspace, "shapes_refused.py", SHAPES)
    _answer(standin, implement="    return math.pi * (radius ** 2\n```")
    nvim.lua("vim.api.nvim_win_set_cursor(0, { 6, 4 }); vim.cmd('MistralImplement')")
    nvim.wait("(function() for _, m in ipairs(MistralTest.messages) do "
              "if m.msg:find('would add syntax errors', 1, true) then return true end end end)()",
              "the refusal message", 20.0)
    assert nvim.lines() == SHAPES.split("\n")[:-1]
