"""The Neovim client (editor-clients/nvim) in real headless Neovim, against the real server and the
vLLM stand-in.

Keys are typed as a user types them (``--remote-send``), so insert mode, omni completion,
CTRL-Y and CompleteDone run as they do interactively. Every wait polls with a generous deadline;
nothing here asserts on time.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import lsp_server
from tests.editors.nvim import Nvim
from tests.standin import DEFAULT_MODEL, Reply, StandIn

pytestmark = pytest.mark.editor


def _open(nvim: Nvim, workspace: Path, name: str, text: str) -> int:
    path = workspace / name
    path.write_text(text)
    bufnr = nvim.edit(path)
    nvim.wait_attached(bufnr)
    return bufnr


def _server_command(nvim: Nvim, command: str) -> Any:
    answer = nvim.lua(
        "local c = vim.lsp.get_clients({ name = 'mistral_lsp' })[1]; "
        "return c:request_sync('workspace/executeCommand', { command = ... }, 10000)",
        command,
    )
    assert answer and "result" in answer, answer
    return answer["result"]


def _has_command(nvim: Nvim, command: str) -> bool:
    return nvim.lua(
        "local c = vim.lsp.get_clients({ name = 'mistral_lsp' })[1]; "
        "return require('mistral_lsp').server_has_command(c, ...)",
        command,
    )


def _wait_message(nvim: Nvim, needle: str) -> str:
    nvim.wait(
        "(function(needle) for _, m in ipairs(MistralTest.messages) do "
        "if m.msg:find(needle, 1, true) then return true end end end)(...)",
        f"a message containing {needle!r}",
        15.0,
        needle,
    )
    return next(m for m in nvim.messages() if needle in m)


COMPLETEOPT = "menu,menuone,noinsert,popup"  # docs/editors.md recommends it: a menu even for one item


def _complete_and_accept(nvim: Nvim, keys: str) -> None:
    """Type `keys` (ending in omni completion), wait for the menu, accept its item with CTRL-Y."""
    nvim.lua("vim.o.completeopt = ...", COMPLETEOPT)
    nvim.input(keys)
    nvim.wait("vim.fn.pumvisible() == 1 and #vim.fn.complete_info({ 'items' }).items == 1", "the completion menu")
    nvim.input("<C-y><Esc>")


def _float_lines(nvim: Nvim, needle: str) -> list[str]:
    """Wait for the mistral-lsp floating window to show `needle`; return its lines."""
    nvim.wait(
        "(function(needle) local lines = require('mistral_lsp.ui').open_float_lines() "
        "return lines and table.concat(lines, '\\n'):find(needle, 1, true) ~= nil end)(...)",
        f"a mistral-lsp float showing {needle!r}",
        20.0,
        needle,
    )
    return nvim.lua("return require('mistral_lsp.ui').open_float_lines()")


def _close_floats(nvim: Nvim) -> None:
    nvim.lua(
        "for _, w in ipairs(vim.api.nvim_list_wins()) do "
        "if vim.api.nvim_win_get_config(w).relative ~= '' then vim.api.nvim_win_close(w, true) end end"
    )


def _health(nvim: Nvim) -> list[str]:
    nvim.lua("vim.cmd('checkhealth mistral_lsp')")
    lines = nvim.lines()
    nvim.lua("vim.cmd('bwipeout!')")
    return lines


# -- attaching --------------------------------------------------------------------------------------


def test_attaches_through_vim_lsp_enable(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    bufnr = _open(nvim, workspace, "hello.py", "x = 1\n")
    info = nvim.wait_attached(bufnr)
    assert info["cmd"] == ["mistral-lsp", "serve"]  # the shipped config, found on PATH
    assert os.path.realpath(info["root_dir"]) == os.path.realpath(workspace)  # root marker .mistral-lsp.toml
    assert info["server_info"] == {"name": "mistral-lsp", "version": lsp_server.__version__}
    assert info["offset_encoding"] == "utf-8"
    # Nothing the user did not set is sent, so the server's own resolution decides...
    assert info["settings"] == {"mistralLsp": {}}
    status = _server_command(nvim, "mistral-lsp.status")
    # ...and it found the stand-in through the workspace's .mistral-lsp.toml.
    assert status["endpoint"] == standin.base_url
    assert status["model"] == DEFAULT_MODEL
    wired = nvim.lua("return vim.b[...].mistral_lsp", bufnr)
    has_inline = nvim.lua("return require('mistral_lsp').has_inline_completion()")
    assert wired["inline"] is has_inline
    assert wired["completion"] is (not has_inline)  # completion = 'auto'


# -- completion items (Neovim 0.11) -------------------------------------------------------------------


def test_completion_item_inserted(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    _open(nvim, workspace, "add.py", "def add(a, b):\n    return \n")
    standin.default = Reply(text="a + b")
    nvim.input("2GA<C-x><C-o>")
    nvim.wait("vim.fn.pumvisible() == 1", "the completion menu")
    item = nvim.lua("return vim.fn.complete_info({ 'items' }).items[1]")
    assert item["kind"] == "Text", item  # plain text, not a Snippet
    assert item["word"] == "a + b"
    nvim.input("<C-y><Esc>")
    # Neovim alone would insert only "a" (a plain-text item stops at its first space).
    nvim.wait("vim.deep_equal(vim.api.nvim_buf_get_lines(0, 0, -1, true), ...)", "the completed text", 15.0,
              ["def add(a, b):", "    return a + b"])
    assert any("response_format" not in (r.body or {}) for r in standin.chat_requests()), "asked the model"


def test_multiline_completion_item_inserted(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    _open(nvim, workspace, "mul.py", "def mul(a, b):\n    \n")
    standin.default = Reply(text="result = a * b\n    return result\n")
    _complete_and_accept(nvim, "2GA<C-x><C-o>")
    expected = ["def mul(a, b):", "    result = a * b", "    return result"]
    nvim.wait("vim.deep_equal(vim.api.nvim_buf_get_lines(0, 0, -1, true), ...)", "both lines", 15.0, expected)
    assert nvim.lua("return vim.api.nvim_win_get_cursor(0)") == [3, 16]  # on the last inserted character


def test_default_completeopt_shows_a_menu_and_inserts_nothing_unseen(
    bare_nvim: Callable[[Path], Nvim], workspace: Path, standin: StandIn
) -> None:
    """With Neovim's default 'completeopt' (menu,popup) a single item would be inserted at once,
    unseen. The client gives the buffers it attaches to a 'completeopt' with a menu even for one
    item and nothing inserted before <C-y>; a user's own 'completeopt' is left alone."""
    nvim = bare_nvim(workspace)
    assert nvim.lua("return vim.go.completeopt") == "menu,popup"  # Neovim's default
    bufnr = _open(nvim, workspace, "div.py", "def div(a, b):\n    return \n")
    assert nvim.lua("return vim.bo[...].completeopt", bufnr) == "menu,menuone,noinsert,popup"
    standin.default = Reply(text="a / b")
    nvim.input("2GA<C-x><C-o>")
    nvim.wait("vim.fn.pumvisible() == 1", "the completion menu for the single AI item")
    assert nvim.lua("return vim.api.nvim_get_current_line()") == "    return "  # nothing inserted yet
    nvim.input("<C-y><Esc>")
    nvim.wait("vim.api.nvim_buf_get_lines(0, 1, 2, true)[1] == '    return a / b'", "the accepted item")
    # a user's own 'completeopt' wins: not overridden in newly attached buffers
    nvim.lua("vim.go.completeopt = 'menu'")
    other = _open(nvim, workspace, "div2.py", "x = 1\n")
    assert nvim.lua("return vim.bo[...].completeopt", other) == ""


def test_completeopt_option_false_keeps_neovims_behaviour(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    """`completion = { completeopt = false }`: Neovim's default 'completeopt' inserts a single item
    at once without a menu: all of its first line, not just its first word."""
    nvim.lua("require('mistral_lsp').options.completion.completeopt = false")
    try:
        bufnr = _open(nvim, workspace, "div3.py", "def div(a, b):\n    return \n")
        assert nvim.lua("return vim.bo[...].completeopt", bufnr) == ""
        standin.default = Reply(text="a / b")
        nvim.lua("vim.o.completeopt = 'menu,popup'")
        nvim.input("2GA<C-x><C-o>")
        nvim.wait("vim.api.nvim_get_current_line() == '    return a / b'", "the inserted first line")
        nvim.normal_mode()
        assert nvim.lines() == ["def div(a, b):", "    return a / b"]
    finally:
        nvim.lua("require('mistral_lsp').options.completion.completeopt = 'menu,menuone,noinsert,popup'")


def test_item_inserted_whole_through_plain_omnifunc(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    """With vim.lsp.completion not enabled by us (e.g. another plugin owns it), the default LSP
    omnifunc inserts Neovim's own word for the item; the CompleteDone hook still completes it."""
    nvim.lua("require('mistral_lsp').options.completion.enable = false")
    try:
        bufnr = _open(nvim, workspace, "sub.py", "def sub(a, b):\n    return \n")
        assert nvim.lua("return vim.b[...].mistral_lsp.completion", bufnr) is False
        assert nvim.lua("return vim.bo.omnifunc") == "v:lua.vim.lsp.omnifunc"
        standin.default = Reply(text="a - b")
        _complete_and_accept(nvim, "2GA<C-x><C-o>")
        nvim.wait("vim.deep_equal(vim.api.nvim_buf_get_lines(0, 0, -1, true), ...)", "the completed text", 15.0,
                  ["def sub(a, b):", "    return a - b"])
    finally:
        nvim.lua("require('mistral_lsp').options.completion.enable = 'auto'")


def _buffer_is(nvim: Nvim, expected: list[str], what: str) -> None:
    nvim.wait("vim.deep_equal(vim.api.nvim_buf_get_lines(0, 0, -1, true), ...)", what, 15.0, expected)


@pytest.mark.parametrize(
    ("name", "text", "row", "reply", "expected"),
    [
        # the model repeats the typed "rad": accepting the item gives "radius", not "radradius"
        ("area.py", "import math\n\ndef area(radius):\n    return math.pi * rad\n", 4, "radius ** 2",
         ["import math", "", "def area(radius):", "    return math.pi * radius ** 2"]),
        # ... or the whole tail of the line
        ("tail.py", "def area(radius):\n    return 3.14 * rad\n", 2, "3.14 * radius * radius",
         ["def area(radius):", "    return 3.14 * radius * radius"]),
        ("el.js", "function f() {\n  const el = $ro\n}\n", 2, "$root.find('a');",
         ["function f() {", "  const el = $root.find('a');", "}"]),
        ("fläche.py", "def f(größe):\n    return grö\n", 2, "größe * 2", ["def f(größe):", "    return größe * 2"]),
    ],
    ids=["word", "line-tail", "dollar", "non-ascii"],
)
def test_completion_item_replaces_the_typed_word(
    nvim: Nvim, workspace: Path, standin: StandIn, name: str, text: str, row: int, reply: str, expected: list[str]
) -> None:
    _open(nvim, workspace, name, text)
    standin.default = Reply(text=reply)
    _complete_and_accept(nvim, f"{row}GA<C-x><C-o>")  # at the end of line `row` (1-based)
    _buffer_is(nvim, expected, "the word completed once")


def test_completion_item_mid_line_merges_with_the_closer(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    _open(nvim, workspace, "mid.py", "def f():\n    x = compute()\n    return x\n")
    standin.default = Reply(text="1, 2)\n    y = 3\n")
    _complete_and_accept(nvim, "2G$i<C-x><C-o>")  # insert before the ")"
    _buffer_is(nvim, ["def f():", "    x = compute(1, 2)", "    return x"], "the call completed on its line")


def test_multiline_completion_item_in_a_tab_indented_go_file(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    _open(nvim, workspace, "clamp.go", "package main\n\nfunc clamp(x int) int {\n\t\n}\n")
    standin.default = Reply(text="```go\n    if x < 0 {\n        return 0\n    }\n    return x\n}\n```")
    _complete_and_accept(nvim, "4GA<C-x><C-o>")
    expected = ["package main", "", "func clamp(x int) int {", "\tif x < 0 {", "\t\treturn 0", "\t}", "\treturn x", "}"]
    _buffer_is(nvim, expected, "tab-indented lines")


# -- inline completion ------------------------------------------------------------------------------


def test_inline_completion_requested_raw(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    bufnr = _open(nvim, workspace, "greet.py", "def greet(name):\n    return \n")
    standin.default = Reply(text='"Hello, " + name')
    answers = nvim.lua(
        """
        local bufnr = ...
        local params = {
          textDocument = { uri = vim.uri_from_bufnr(bufnr) },
          position = { line = 1, character = 11 },
          context = { triggerKind = 1 }, -- Invoked
        }
        return vim.lsp.buf_request_sync(bufnr, 'textDocument/inlineCompletion', params, 10000)
        """,
        bufnr,
    )
    results = [answer for answer in answers.values()] if isinstance(answers, dict) else answers
    assert len(results) == 1 and "err" not in results[0], answers
    result = results[0]["result"]
    items = result["items"] if isinstance(result, dict) else result
    assert [item["insertText"] for item in items] == ['"Hello, " + name']
    assert items[0]["range"]["start"] == {"line": 1, "character": 11}


def test_inline_completion_wired_on_0_12(bare_nvim: Callable[[Path], Nvim], tmp_path: Path) -> None:
    """Neovim 0.12's vim.lsp.inline_completion, stubbed (no 0.12 binary exists in the registries we
    can reach): attaching enables it for the buffer and client, skips completion items, and the
    opt-in keymaps drive it."""
    nvim = bare_nvim(tmp_path)
    state = nvim.lua(
        """
        local calls = {}
        vim.lsp.inline_completion = {
          enable = function(enable, filter) calls[#calls + 1] = { 'enable', enable, filter } end,
          get = function() calls[#calls + 1] = { 'get' }; return true end,
          select = function(opts) calls[#calls + 1] = { 'select', opts.count } end,
        }
        local mistral = require('mistral_lsp')
        mistral.setup({ enable = false, keymaps = true })
        local bufnr = vim.api.nvim_create_buf(true, false)
        vim.api.nvim_set_current_buf(bufnr)
        local client = { id = 4242, name = 'mistral_lsp', supports_method = function() return true end }
        mistral.attach(client, bufnr)
        vim.api.nvim_feedkeys(vim.keycode('i<M-]><Tab>'), 'xt', false)
        return { calls = calls, wired = vim.b[bufnr].mistral_lsp, bufnr = bufnr }
        """
    )
    assert state["calls"][0] == ["enable", True, {"bufnr": state["bufnr"], "client_id": 4242}]
    assert ["select", 1] in state["calls"] and ["get"] in state["calls"]
    assert state["wired"] == {"client_id": 4242, "inline": True, "completion": False}


# -- commands ---------------------------------------------------------------------------------------


def test_toggle_completions_command(nvim: Nvim, workspace: Path) -> None:
    _open(nvim, workspace, "toggle.py", "x = 1\n")
    assert _server_command(nvim, "mistral-lsp.status")["completionsEnabled"] is True
    nvim.lua("vim.cmd('MistralLsp toggleCompletions')")
    _wait_message(nvim, "automatic AI completions are off")
    assert _server_command(nvim, "mistral-lsp.status")["completionsEnabled"] is False
    nvim.clear_messages()
    nvim.lua("vim.cmd('MistralLsp toggleCompletions')")
    _wait_message(nvim, "automatic AI completions are on")
    assert _server_command(nvim, "mistral-lsp.status")["completionsEnabled"] is True


def test_status_and_check_open_a_float(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    """Several lines go to a floating window (no "Press ENTER" with cmdheight=1), titled with the
    server's name and version once, counts with correct plurals."""
    _open(nvim, workspace, "status.py", "def f():\n    \n")
    nvim.lua("vim.cmd('MistralLsp status')")
    lines = _float_lines(nvim, "endpoint:")
    text = "\n".join(lines)
    assert lines[0] == "model server: ready", lines
    assert f"endpoint: {standin.base_url}" in lines
    assert f"model: {DEFAULT_MODEL}" in lines
    assert "completions: on" in text, text
    counts = re.findall(r"(\d+) (request|model call|cache hit|error|finding|file|symbol)(s?)\b", text)
    assert len(counts) >= 8, text
    assert all((n == "1") == (s == "") for n, _, s in counts), counts
    title = nvim.lua(
        "for _, w in ipairs(vim.api.nvim_list_wins()) do if vim.w[w].mistral_lsp then "
        "return vim.api.nvim_win_get_config(w).title end end"
    )
    assert "mistral-lsp " + lsp_server.__version__ in json.dumps(title), title
    assert nvim.messages() == []  # nothing in the message area
    assert nvim.lua("return require('mistral_lsp').statusline()") == "Mistral: ready"
    _close_floats(nvim)
    nvim.lua("vim.cmd('MistralLsp check')")
    check = _float_lines(nvim, "result:")
    assert any(line.startswith("result:") and "usable" in line for line in check), check
    assert nvim.messages() == []
    _close_floats(nvim)
    assert nvim.lua("return require('mistral_lsp').complete('re')") == ["restart", "reviewFile", "reviewWorkspace"]


def test_status_lines_count_in_words(nvim: Nvim) -> None:
    ones = nvim.lua(
        "return require('mistral_lsp').status_lines({ state = 'ready', endpoint = 'e', model = 'm', "
        "completionsEnabled = true, lastCompletionLatencyMs = 41.6, requests = 1, modelCalls = 1, cacheHits = 1, "
        "errors = 1, review = { enabled = true, triggers = { 'open' }, findings = 1, modelCalls = 1 }, "
        "index = { enabled = true, ready = true, files = 1, symbols = 1 } })"
    )
    assert ones == [
        "model server: ready",
        "endpoint: e",
        "model: m",
        "completions: on, last one 42 ms; 1 request, 1 model call, 1 cache hit, 1 error",
        "review: on (open); 1 finding, 1 model call",
        "index: 1 file, 1 symbol",
    ]
    down = nvim.lua(
        "return require('mistral_lsp').status_lines({ state = 'unavailable', reason = 'connection refused', "
        "completionsEnabled = false, requests = 0, modelCalls = 2, cacheHits = 0, errors = 3 })"
    )
    assert down == [
        "model server: unavailable (connection refused)",
        "completions: off; 0 requests, 2 model calls, 0 cache hits, 3 errors",
    ]


def test_status_pushed_by_the_server_feeds_the_statusline(nvim: Nvim, workspace: Path) -> None:
    """The server pushes `mistral-lsp/status` when its state changes (the client asks for it in its
    capabilities); `statusline()` shows it without any command."""
    bufnr = _open(nvim, workspace, "pushed.py", "x = 1\n")
    client_id = nvim.lua("return vim.b[...].mistral_lsp.client_id", bufnr)
    nvim.wait("require('mistral_lsp').statuses[...] ~= nil", "a pushed status", 20.0, client_id)
    assert nvim.lua("return require('mistral_lsp').statuses[...].endpoint", client_id)
    nvim.wait("require('mistral_lsp').statusline() == 'Mistral: ready'", "the statusline to say ready")
    nvim.lua("vim.cmd('MistralLsp toggleCompletions')")
    nvim.wait("require('mistral_lsp').statusline() == 'Mistral: completions off'", "completions off")
    nvim.lua("vim.cmd('MistralLsp toggleCompletions')")
    nvim.wait("require('mistral_lsp').statusline() == 'Mistral: ready'", "ready again")
    assert nvim.lua("vim.cmd.enew(); local s = require('mistral_lsp').statusline(); vim.cmd('bwipeout!'); return s") == ""


def test_command_the_server_lacks_gets_a_clear_message(nvim: Nvim, workspace: Path) -> None:
    """A new server command is one line in M.subcommands; until the server has it, the user is told
    so, whether the client notices first (capabilities) or the server answers with an error."""
    _open(nvim, workspace, "future.py", "x = 1\n")
    nvim.lua(
        "require('mistral_lsp').subcommands.futureThing = "
        "{ server = 'mistral-lsp.futureThing', desc = 'do the future thing' }"
    )
    try:
        nvim.lua("vim.cmd('MistralLsp futureThing')")
        message = _wait_message(nvim, "has no `mistral-lsp.futureThing` command")
        assert f"(version {lsp_server.__version__})" in message and "do the future thing" in message
        assert message.count("mistral-lsp:") == 1 and not message.startswith("mistral-lsp: mistral-lsp"), message
        # the server is asked anyway (capabilities claim it) and answers with its error
        nvim.clear_messages()
        nvim.lua(
            "local c = vim.lsp.get_clients({ name = 'mistral_lsp' })[1]; "
            "table.insert(c.server_capabilities.executeCommandProvider.commands, 'mistral-lsp.futureThing')"
        )
        nvim.lua("vim.cmd('MistralLsp futureThing')")
        _wait_message(nvim, "has no `mistral-lsp.futureThing` command")
        assert not any("failed" in m for m in nvim.messages())
    finally:
        nvim.lua(
            "require('mistral_lsp').subcommands.futureThing = nil; "
            "local c = vim.lsp.get_clients({ name = 'mistral_lsp' })[1]; "
            "local cmds = c.server_capabilities.executeCommandProvider.commands; "
            "for i = #cmds, 1, -1 do if cmds[i] == 'mistral-lsp.futureThing' then table.remove(cmds, i) end end"
        )
        nvim.lua("vim.cmd('MistralLsp nope')")
        assert "unknown command `nope`" in _wait_message(nvim, "unknown command")


# -- review diagnostics and quick fixes -------------------------------------------------------------

TOTAL = "def total(xs):\n    s = 0\n    for i in range(len(xs) - 1):\n        s += xs[i]\n    return s\n"
FINDINGS = {
    "findings": [
        {
            "line": 5,  # the model is off by two: the diagnostic must still sit on the quote (line 3)
            "quote": "range(len(xs) - 1)",
            "severity": "warning",
            "rule": "off-by-one",
            "message": "the loop skips the last element",
            "fix": {"start_line": 3, "end_line": 3, "replacement": "    for i in range(len(xs)):"},
        }
    ]
}


def test_review_diagnostic_shown_and_quick_fix_applied(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    _open(nvim, workspace, "probe.py", "x = 1\n")
    assert _has_command(nvim, "mistral-lsp.reviewFile"), "the server must offer mistral-lsp.reviewFile"

    def responder(body: dict) -> Reply:
        return Reply(text=json.dumps(FINDINGS)) if body.get("response_format") else Reply(text="")

    standin.responder = responder
    bufnr = _open(nvim, workspace, "total.py", TOTAL)
    diagnostics = nvim.wait("vim.diagnostic.get(...)", "the review diagnostic", 20.0, bufnr)
    assert [(d["lnum"], d["col"], d["end_col"], d["source"], d["code"]) for d in diagnostics] == [
        (2, 13, 31, "mistral-lsp", "off-by-one")
    ]
    assert diagnostics[0]["message"] == "the loop skips the last element"
    # As a user does: jump to it, take the preferred quick fix.
    nvim.input("gg]d")
    nvim.wait("vim.api.nvim_win_get_cursor(0)[1] == 3", "the cursor on the diagnostic")
    nvim.lua("vim.lsp.buf.code_action({ apply = true, filter = function(a) return a.isPreferred end })")
    expected = TOTAL.replace("range(len(xs) - 1)", "range(len(xs))").splitlines()
    nvim.wait("vim.deep_equal(vim.api.nvim_buf_get_lines(0, 0, -1, true), ...)", "the fixed text", 15.0, expected)
    # The review command on the fixed file: the old quote is gone, so no finding is shown.
    nvim.lua("vim.cmd('MistralLsp reviewFile')")
    message = _wait_message(nvim, "reviewed total.py")
    assert message == "mistral-lsp: reviewed total.py: no findings", message


# -- health -----------------------------------------------------------------------------------------


def test_checkhealth_is_clean(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    _open(nvim, workspace, "health.py", "x = 1\n")
    lines = _health(nvim)
    text = "\n".join(lines)
    assert "WARNING" not in text and "ERROR" not in text, text
    ok = [line for line in lines if "OK" in line]
    expected = [
        "Neovim 0.1",
        "lsp/mistral_lsp.lua, enabled",
        "bin/mistral-lsp (cmd: mistral-lsp serve)",
        f"version: mistral-lsp {lsp_server.__version__}",
        f"usable: {standin.base_url}, model {DEFAULT_MODEL}",
        "running: client",
        "lsp.log",
    ]
    for needle in expected:
        assert any(needle in line for line in ok), f"no OK line with {needle!r} in:\n{text}"
    # the index of the workspace: ready (OK, with its counts) or still building (INFO)
    assert any("symbol index: " in line and ("files" in line or "being built" in line) for line in lines), text


def test_checkhealth_reports_problems(bare_nvim: Callable[[Path], Nvim], tmp_path: Path) -> None:
    """The health check is not clean by construction: no server, or no model server, is an ERROR."""
    project = tmp_path / "project"
    project.mkdir()
    (project / ".mistral-lsp.toml").write_text('endpoint = "http://127.0.0.1:9/v1"\n')  # nothing listens
    nvim = bare_nvim(project)
    text = "\n".join(_health(nvim))
    assert "ERROR NOT usable: http://127.0.0.1:9/v1" in text and "not reachable" in text, text
    nvim.lua("require('mistral_lsp').setup({ cmd = { 'no-such-mistral-lsp', 'serve' } })")
    text = "\n".join(_health(nvim))
    assert "ERROR `no-such-mistral-lsp` is not executable" in text and "pip install mistral-lsp" in text, text


# -- setup() ----------------------------------------------------------------------------------------


def test_setup_merges_options_and_sends_only_what_is_set(bare_nvim: Callable[[Path], Nvim], tmp_path: Path) -> None:
    nvim = bare_nvim(tmp_path)
    result = nvim.lua(
        """
        local mistral, cli = require('mistral_lsp'), require('mistral_lsp.cli')
        local out = {}
        mistral.setup({ settings = { completion = { debounceMs = 40 } } })
        out.first = { settings = vim.lsp.config.mistral_lsp.settings, env_empty = vim.tbl_isempty(cli.env()),
                      enabled = vim.lsp.is_enabled('mistral_lsp'), cmd = vim.lsp.config.mistral_lsp.cmd,
                      filetypes = vim.lsp.config.mistral_lsp.filetypes }
        mistral.setup({ settings = { endpoint = 'http://gpu-box:8000/v1', ['api-key'] = 'k' },
                        cmd = { 'python3', '-m', 'lsp_server', 'serve', '--log-file', '/tmp/x.log' } })
        out.second = { settings = vim.lsp.config.mistral_lsp.settings, env = cli.env(),
                       version = cli.command({ '--version' }), check = cli.check_args('/p', true) }
        return out
        """
    )
    first, second = result["first"], result["second"]
    assert first["settings"] == {"mistralLsp": {"completion": {"debounceMs": 40}}}
    assert first["env_empty"] is True  # no endpoint/model/key invented for `mistral-lsp check`
    assert first["enabled"] is True and first["cmd"] == ["mistral-lsp", "serve"] and "python" in first["filetypes"]
    assert second["settings"] == {
        "mistralLsp": {"completion": {"debounceMs": 40}, "endpoint": "http://gpu-box:8000/v1", "api-key": "k"}
    }
    assert second["env"] == {"MISTRAL_LSP_ENDPOINT": "http://gpu-box:8000/v1", "MISTRAL_LSP_API_KEY": "k"}
    assert second["version"] == ["python3", "-m", "lsp_server", "--version"]
    assert second["check"] == ["check", "--root", "/p", "--timeout", "5", "--json"]


def test_keymaps_are_opt_in(nvim: Nvim, workspace: Path) -> None:
    maps = "return { n = MistralTest.buffer_maps('n'), i = MistralTest.buffer_maps('i') }"
    _open(nvim, workspace, "maps_off.py", "x = 1\n")
    assert nvim.lua(maps) == {"n": [], "i": []}
    nvim.lua("require('mistral_lsp').setup({ keymaps = { review_workspace = false } })")
    try:
        _open(nvim, workspace, "maps_on.py", "x = 1\n")
        on = nvim.lua(maps)
        assert on["n"] == ["\\mr", "\\ms", "\\mt"]  # <leader> is "\" here; review_workspace turned off
        if nvim.lua("return require('mistral_lsp').has_inline_completion()"):
            assert on["i"] == sorted(["<Tab>", "<M-Bslash>", "<M-]>", "<M-[>"]), on
        else:
            assert on["i"] == ["<M-Bslash>"], on
    finally:
        nvim.lua("require('mistral_lsp').setup({ keymaps = false })")
    assert nvim.lua(maps) == {"n": [], "i": []}  # setup() re-wires attached buffers


def test_restart_and_log_commands(nvim: Nvim, workspace: Path) -> None:
    bufnr = _open(nvim, workspace, "restart.py", "x = 1\n")
    old = nvim.lua("return vim.b[...].mistral_lsp.client_id", bufnr)
    nvim.lua("vim.cmd('MistralLsp restart')")
    _wait_message(nvim, "mistral-lsp: restarted")
    new = nvim.wait(
        "(function(b, old) local s = vim.b[b].mistral_lsp; return s and s.client_id ~= old "
        "and vim.lsp.get_client_by_id(s.client_id).initialized and s.client_id end)(...)",
        "a new client attached to the buffer",
        30.0,
        bufnr,
        old,
    )
    assert nvim.lua("return vim.lsp.get_client_by_id(...)", old) is None
    assert nvim.lua("return #vim.lsp.get_clients({ name = 'mistral_lsp' })") == 1
    assert _server_command(nvim, "mistral-lsp.status")["state"] in ("unknown", "ready"), new
    nvim.lua("vim.cmd('MistralLsp log')")
    try:
        assert nvim.lua("return vim.api.nvim_buf_get_name(0) == vim.lsp.log.get_filename()") is True
    finally:
        nvim.lua("vim.cmd('bwipeout!')")
