"""Every place that numbers lines of a document numbers them as LSP does (``\\n``, ``\\r\\n``,
a lone ``\\r``; not form feeds, ``\\x85``, ``\\u2028``...), and "Fix with AI" survives a model
that repeats the prefilled opening fence.

The model's read_lines tool, git's diff of lines holding odd characters (and git's own
numbering of a lone CR file), the CI report's lines and fixes, fixes in a lone-CR file,
the completion prefill, signatures shown to the model, the trial parse's bracket scan.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lsp_server.ci.git import ChangedLines, parse_unified_zero, rows_of_git_lines
from lsp_server.config import DEFAULT_SECRET_GLOBS, Settings
from lsp_server.core.findings import Finding, LineFix, Severity, Span
from lsp_server.core.secrets import SecretFilter
from lsp_server.core.text import TextBuffer, as_lf, split_lines
from lsp_server.engines.documents import DocumentStore
from lsp_server.engines.fixes import answer_code, fix_edits, tidy_replacement
from lsp_server.engines.fixes_ai import AiFixer
from lsp_server.index import WorkspaceIndex
from lsp_server.index.tools import IndexTools
from lsp_server.model.client import ModelClient
from lsp_server.model.health import ModelHealth
from lsp_server.model.prompts import CompletionInput, build_completion_prompt
from lsp_server.reporting.common import position, whole_line_edit
from lsp_server.reporting.report import Report
from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.languages import LanguageRegistry
from lsp_server.syntax.validate import would_add_errors
from tests.line_break_samples import EOLS, ODD, SAMPLES, apply_edits, cases, fix_line
from tests.standin import Reply, StandIn


def test_split_lines_and_as_lf_agree_with_the_text_model() -> None:
    for sample, eol in cases():
        text = sample.text(EOLS[eol])
        buffer = TextBuffer(text)
        assert split_lines(text) == [buffer.line_text(row) for row in range(buffer.line_count)] == list(sample.lines)
        assert as_lf(text) == "\n".join(sample.lines)
        assert len(text.splitlines()) > len(sample.lines)  # what str.splitlines would have made of it
    assert split_lines("") == [""] and split_lines("a\r") == ["a", ""] and as_lf("a\r\rb\r\n") == "a\n\nb\n"


# -- (d) the model's read_lines tool -------------------------------------------------------------
@pytest.mark.parametrize("eol", list(EOLS))
async def test_read_lines_numbers_lines_as_the_editor(tmp_path: Path, eol: str) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    for sample in SAMPLES:
        (root / sample.name).write_bytes(sample.text(EOLS[eol]).encode())
    index = WorkspaceIndex(root, LanguageRegistry(), SecretFilter(DEFAULT_SECRET_GLOBS), text_delay_s=0.05)
    await index.build()
    tools = IndexTools(index)
    try:
        for sample in SAMPLES:
            row = sample.target
            answer = await tools.call("read_lines", {"path": sample.name, "start": row + 1, "end": row + 1})
            assert (answer["start"], answer["end"], answer["text"]) == (row + 1, row + 1, sample.lines[row])
            whole = await tools.call("read_lines", {"path": sample.name, "start": 1, "end": 200})
            assert whole["text"].split("\n") == list(sample.lines[:-1])  # (the file ends with a line break)
            assert whole["end"] == len(sample.lines) - 1
            # the symbol's lines and read_lines agree: its first line is its header
            found = (await tools.call("lookup_symbol", {"name": "last"}))["results"]
            [symbol] = [s for s in found if s["path"] == sample.name]
            first = symbol["lines"][0]
            header = await tools.call("read_lines", {"path": sample.name, "start": first, "end": first})
            assert "last" in header["text"] and header["text"] == sample.lines[first - 1]
        # an open document answers with its editor text (lone CRs here whatever is on disk)
        python = SAMPLES[0]
        index.update_text(root / python.name, python.text("\r"))
        answer = await tools.call("read_lines", {"path": python.name, "start": python.target + 1,
                                                 "end": python.target + 2})
        assert answer["text"] == "\n".join(python.lines[python.target : python.target + 2])
    finally:
        await index.aclose()


# -- (f) git's lines ---------------------------------------------------------------------------
def test_the_diff_is_split_at_newlines_only_and_hunk_lines_are_never_headers() -> None:
    patch = "\n".join([
        "diff --git a/a.py b/a.py",
        "--- a/a.py",
        "+++ b/a.py",
        "@@ -2,2 +2,4 @@ def f():",
        f"-    x = 1  # {ODD}",
        "-    y = 2\r# a lone CR inside git's line",
        "+++ evil.py",  # an added line reading "++ evil.py"
        "+@@ -1 +90,3 @@",  # an added line reading "@@ -1 +90,3 @@"
        f"+    x = 1  # {ODD}\x0c+++ b/other.py",
        "+    y = 2\r@@ -1 +70 @@",
        "\\ No newline at end of file",
        "@@ -9 +11 @@",
        "-z\u2028+++ b/third.py",
        "+z",
        "",
    ])
    assert parse_unified_zero(patch) == {"a.py": {1, 2, 3, 4, 10}}


def test_git_lines_become_the_rows_lsp_counts() -> None:
    text = "a\nb\rc\nd\r\ne\rf\rg"  # git: a | b\rc | d | e\rf\rg ; LSP: a b c d e f g
    assert rows_of_git_lines(text, {0}) == {0}
    assert rows_of_git_lines(text, {1}) == {1, 2}
    assert rows_of_git_lines(text, {2}) == {3}
    assert rows_of_git_lines(text, {3}) == {4, 5, 6}
    assert rows_of_git_lines("a\r\nb\r\n", {1}) == {1}  # CR LF: the same numbers
    assert rows_of_git_lines(f"a{ODD}\nb", {1}) == {1}  # odd characters are no line breaks to either
    assert rows_of_git_lines("x\r", {0}) == {0, 1}  # a trailing lone CR starts an (empty) line of ours
    changed = ChangedLines("main", {"f.py": {1}})
    changed.renumber("f.py", text)
    assert changed.changed("f.py", [2]) and not changed.changed("f.py", [3])


# -- (b) the CI report -----------------------------------------------------------------------
@pytest.mark.parametrize("eol", list(EOLS))
def test_the_reports_fix_is_written_with_the_files_line_break(eol: str) -> None:
    sample = SAMPLES[0]
    text = sample.text(EOLS[eol])
    row = sample.target
    fix = LineFix(row, row + 1, fix_line(sample.lines[row]) + "\n    # and one more line", "x")
    report = Report((), {"f.py": split_lines(text)}, line_ends={"f.py": TextBuffer(text).eol()})
    edit = whole_line_edit(report, "f.py", fix)
    assert (edit.start_line, edit.start_col, edit.end_line, edit.end_col) == (row, 0, row + 2, 0)
    lines = list(sample.lines)
    lines[row : row + 2] = [fix_line(sample.lines[row]), "    # and one more line"]
    assert apply_edits(text, [((row, 0), (row + 2, 0), edit.text)]) == EOLS[eol].join(lines)


# -- (c) fixes in the editor -----------------------------------------------------------------
@pytest.mark.parametrize(("sample", "eol"), cases(), ids=[f"{s.language}-{e}" for s, e in cases()])
def test_a_fix_of_a_line_keeps_the_next_line_on_its_own(sample, eol: str) -> None:
    text = sample.text(EOLS[eol])
    buffer = TextBuffer(text)
    row = sample.target
    fix = LineFix(row, row, fix_line(sample.lines[row]), sample.lines[row])
    edits = fix_edits(buffer, fix)
    assert edits is not None
    applied = apply_edits(text, [((e.span.start_line, e.span.start_col), (e.span.end_line, e.span.end_col), e.new_text)
                                 for e in edits], "utf-8")
    assert applied == sample.fixed_text(EOLS[eol])
    last = LineFix(len(sample.lines) - 2, len(sample.lines) - 2, "# replaced", sample.lines[-2])  # before the last break
    edits = fix_edits(buffer, last)
    assert edits is not None and split_lines(apply_edits(
        text, [((e.span.start_line, e.span.start_col), (e.span.end_line, e.span.end_col), e.new_text) for e in edits],
        "utf-8"))[-2:] == ["# replaced", ""]


def test_a_fixed_answer_is_the_code_between_its_fences() -> None:
    assert answer_code(split_lines("x = 1\n```\nprose")) == (0, 1)
    assert answer_code(split_lines("```python\nx = 1\n```\nprose")) == (1, 2)
    assert answer_code(split_lines("\n```python\n\nx = 1\n```")) == (2, 4)
    assert answer_code(split_lines("```\nx = 1\n```")) == (1, 2)
    assert answer_code(split_lines("```python\nx = 1")) == (1, None)  # still open
    assert answer_code(split_lines("\n\nx = 1")) == (0, None)  # blank lines before code are code
    for answer in ("```python\r    x = 1\r```\rprose", "\r\n```python\r\n    x = 1\r\n```", "    x = 1\n```"):
        assert tidy_replacement(answer, ["    x = 0"]) == "    x = 1", answer


@pytest.mark.parametrize("answer", [
    "{fixed}\n```\n",  # continues the prefilled fence
    "```{language}\n{fixed}\n```\nThe index was one too far. " + "More words. " * 200,  # repeats it first
    "\n```{language}\n{fixed}\n```\n" + "More words. " * 200,
    "```\n{fixed}\n```\n",  # a bare repeat
], ids=["continued", "repeated", "blank-then-repeated", "bare-repeat"])
async def test_fix_with_ai_reads_the_code_of_a_fenced_answer(standin: StandIn, answer: str) -> None:
    sample = SAMPLES[0]
    settings = Settings(endpoint=standin.base_url)
    client = ModelClient(settings.endpoint, settings.model, None)
    fixer = AiFixer(settings, client, ModelHealth())
    documents = DocumentStore(LanguageRegistry(), max_parse_bytes=1_000_000)
    text = sample.text("\r")
    doc = documents.open("file:///w/last.py", "python", 1, text)
    plan = fixer.plan(doc, sample.target, sample.target, "off by one")
    assert plan is not None
    standin.script(Reply(text=answer.format(fixed=sample.fixed_line, language="python"), chunk_delay=0.002))
    outcome = await fixer.run(doc, plan)
    assert outcome.edits is not None, outcome.reason
    edits = [((e.span.start_line, e.span.start_col), (e.span.end_line, e.span.end_col), e.new_text)
             for e in outcome.edits]
    assert apply_edits(text, edits, "utf-8") == sample.fixed_text("\r")
    [request] = standin.chat_requests()
    assert "stop" not in request.body and request.body["messages"][-1]["content"] == "```python\n"
    if "More words" in answer:
        assert not request.completed  # the stream was closed at the closing fence
    await client.aclose()


# -- (e) the completion prompt ---------------------------------------------------------------
@pytest.mark.parametrize("eol", list(EOLS))
def test_the_completion_prefill_is_the_cursor_line(eol: str) -> None:
    sample = SAMPLES[0]
    line = sample.lines[sample.target]
    before = EOLS[eol].join([*sample.lines[: sample.target], line[: line.index(sample.quote)]])
    prompt = build_completion_prompt(CompletionInput("last.py", "python", before, "", multiline=False,
                                                     scopes=["def last(items):\r"]))
    assert prompt.prefill_code == line[: line.index(sample.quote)]
    user = prompt.messages[1]["content"]
    assert "\r" not in user and "\n".join(sample.lines[: sample.target]) in user


# -- context shown to the model and the trial parse --------------------------------------------
@pytest.mark.parametrize("eol", list(EOLS))
def test_signatures_shown_to_the_model_are_dedented_lines(eol: str) -> None:
    source = EOLS[eol].join(["class A:", "    def method(self,", "               x):", "        return x", ""])
    registry = LanguageRegistry()
    doc = SyntaxDocument(source, registry.for_document("python", "a.py"), registry)
    [method] = [d for d in doc.outline.definitions() if d.name == "method"]
    assert doc.outline.signature(method) == "def method(self,\n           x):"


@pytest.mark.parametrize("eol", list(EOLS))
@pytest.mark.parametrize(("language", "lines", "insert"), [
    ("python", ["def f(x):", "    ", "    return x", ""], ["y = {  # a", "  'k': [  # b", "    h("]),
    ("javascript", ["function f(x) {", "  ", "  return x;", "}", ""], ["const y = [1,  // a", "    g("]),
], ids=["python", "javascript"])
def test_a_multi_line_completion_is_judged_on_its_lines(eol: str, language: str, lines: list[str],
                                                        insert: list[str]) -> None:
    """The trial parse closes the brackets a valid insertion leaves open; a line comment in it
    ends at a lone CR too (read as running on, it hid the brackets after it: a valid
    completion in a lone-CR file was refused as adding syntax errors)."""
    registry = LanguageRegistry()
    doc = SyntaxDocument(EOLS[eol].join(lines), registry.for_document(language, "f.js" if language != "python"
                                                                       else "f.py"), registry)
    cursor = doc.buffer.line_start(1) + 2 * (1 + (language == "python"))
    assert not would_add_errors(doc, cursor, EOLS[eol].join(insert))


def test_findings_and_sources_use_the_same_rows() -> None:
    """The CI report's lines are the rows the findings were anchored on (not ``split("\\n")``)."""
    text = "a = 1\rb = '🙂'; c = d\r"
    lines = split_lines(text)
    finding = Finding("f.py", Span(1, lines[1].encode().index(b"c ="), 1, len(lines[1].encode())), Severity.ERROR,
                      "r", "m", "c = d")
    report = Report((finding,), {"f.py": lines})
    assert position(report, finding, "utf16").column == len("b = '🙂'; ".encode("utf-16-le")) // 2 + 1
    assert json.dumps(lines) == json.dumps(["a = 1", "b = '🙂'; c = d", ""])
