"""Images in real headless Neovim: the missing-alt diagnostic, the hover float, "Write alt text with AI".

The shipped config attaches to Markdown (``filetypes`` includes ``markdown``); everything is done as
a user does it: ``vim.lsp.buf.hover()`` opens the float, ``vim.lsp.buf.code_action`` with ``apply``
resolves the action lazily and applies its edit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.editors.nvim import Nvim
from tests.imagegen import bar_chart
from tests.standin import Reply, StandIn

pytestmark = pytest.mark.editor

DESCRIPTION = "A bar chart of four quarters rising from 10 to 40."
ALT = "Quarterly sales rising from 10 to 40"
README = "# Sales 😀\n\nIntro 中文.\n![](docs/chart.png)\n\nSales rose every quarter.\n"


def responder(body: dict[str, Any]) -> Reply:
    content = body["messages"][-1]["content"]
    text = " ".join(p.get("text", "") for p in content) if isinstance(content, list) else str(content)
    if "Describe this image" in text:
        return Reply(text=DESCRIPTION)
    if "Write the alt text" in text:
        return Reply(text=ALT)
    return Reply(text='{"findings": []}')


def _open_readme(nvim: Nvim, workspace: Path, standin: StandIn) -> int:
    (workspace / "docs").mkdir(exist_ok=True)
    (workspace / "docs" / "chart.png").write_bytes(bar_chart([10, 20, 30, 40]))
    path = workspace / "README.md"
    path.write_text(README, encoding="utf-8")
    standin.responder = responder
    bufnr = nvim.edit(path)
    nvim.wait_attached(bufnr)
    return bufnr


def test_missing_alt_hover_and_alt_text_in_neovim(nvim: Nvim, workspace: Path, standin: StandIn) -> None:
    bufnr = _open_readme(nvim, workspace, standin)
    diagnostics = nvim.wait(
        "(function(b) local d = vim.diagnostic.get(b) return #d > 0 and d or nil end)(...)",
        "the missing-alt diagnostic", 20.0, bufnr)
    assert [(d["lnum"], d["col"], d["end_col"], d["code"]) for d in diagnostics] == [
        (3, 0, len("![](docs/chart.png)"), "missing-alt-text")]

    # Hover, as K does: the float shows the model's description and the image's facts.
    nvim.lua("vim.api.nvim_win_set_cursor(0, { 4, 5 }); vim.lsp.buf.hover()")
    text = nvim.wait(
        "(function() for _, w in ipairs(vim.api.nvim_list_wins()) do "
        "if vim.api.nvim_win_get_config(w).relative ~= '' then "
        "return table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(w), 0, -1, false), '\\n') "
        "end end end)()", "the hover float", 20.0)
    assert DESCRIPTION in text and "320×200" in text, text
    nvim.normal_mode()
    nvim.lua("for _, w in ipairs(vim.api.nvim_list_wins()) do "
             "if vim.api.nvim_win_get_config(w).relative ~= '' then vim.api.nvim_win_close(w, true) end end")
    nvim.lua("vim.api.nvim_set_current_buf(...)", bufnr)

    # The quick fix: resolved lazily (the model writes the alt text), applied to the alt text only.
    nvim.lua("vim.api.nvim_win_set_cursor(0, { 4, 1 }); vim.lsp.buf.code_action({ apply = true, "
             "filter = function(a) return a.title == 'Write alt text with AI' end })")
    expected = README.replace("![](docs/chart.png)", f"![{ALT}](docs/chart.png)").splitlines()
    nvim.wait("vim.deep_equal(vim.api.nvim_buf_get_lines(0, 0, -1, true), ...)", "the alt text inserted", 20.0,
              expected)
    nvim.wait("(function(b) return #vim.diagnostic.get(b) == 0 end)(...)", "the diagnostic gone", 20.0, bufnr)
    sent = [r for r in standin.chat_requests() if r.images]
    asked = [responder(r.body).text for r in sent]
    assert asked.count(DESCRIPTION) == 1 and asked.count(ALT) == 1  # (opening it also checked its figure)
    assert all((image.width, image.height) == (320, 200) for r in sent for image in r.images)
