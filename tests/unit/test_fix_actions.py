"""engines/fix_actions.py: the one engine call behind code actions (offer) and their resolve."""

from __future__ import annotations

import pytest

from lsp_server.config import Settings
from lsp_server.core.findings import Finding, LineFix, Severity, Span
from lsp_server.engines.documents import DocumentStore, OpenDocument
from lsp_server.engines.fix_actions import AI_FIX, FindingRef, FixActions, short
from lsp_server.engines.fixes import FindingData, finding_data
from lsp_server.engines.fixes_ai import MAX_FIX_LINES, AiFixer
from lsp_server.model.client import ModelClient
from lsp_server.model.health import ModelHealth
from lsp_server.syntax.languages import LanguageRegistry
from tests.line_break_samples import apply_edits
from tests.standin import Reply, StandIn

# (file name, language, text, the row with the problem, its fixed text)
CASES = [
    ("a.py", "python", "def f(xs):\n    total = xs[len(xs)]\n    return total\n", 1, "    total = xs[len(xs) - 1]"),
    ("a.js", "javascript", "function f(xs) {\r\n  const t = xs[xs.length]; // 😀\r\n  return t;\r\n}\r\n", 1,
     "  const t = xs[xs.length - 1]; // 😀"),
    ("a.go", "go", "package p\n\nfunc f(xs []int) int {\n\treturn xs[len(xs)] // 名前\n}", 3,
     "\treturn xs[len(xs)-1] // 名前"),
]


def _engine(client: object = None, settings: Settings | None = None) -> tuple[FixActions, DocumentStore]:
    store = DocumentStore(LanguageRegistry(), max_parse_bytes=1_000_000)
    fixer = AiFixer(settings or Settings(), client, ModelHealth())  # type: ignore[arg-type]
    return FixActions(store, fixer), store


def _finding(doc: OpenDocument, row: int, replacement: str | None, message: str = "off by one") -> FindingRef:
    line = doc.syntax.buffer.line_text(row)
    fix = LineFix(row, row, replacement, line) if replacement is not None else None
    finding = Finding(doc.path, Span(row, 0, row, len(line.encode())), Severity.ERROR, "index", message,
                      line, fix)
    return FindingRef(row, row, message, finding_data(finding, doc.version))


def _edits(doc: OpenDocument, edits: list) -> str:
    return apply_edits(doc.syntax.buffer.text, [((e.span.start_line, e.span.start_col), (e.span.end_line,
                       e.span.end_col), e.new_text) for e in edits], "utf-8")


@pytest.mark.parametrize(("name", "language", "text", "row", "fixed"), CASES, ids=[c[1] for c in CASES])
def test_a_findings_fix_is_offered_with_its_edits_while_its_lines_stand(name, language, text, row, fixed) -> None:
    engine, store = _engine()
    doc = store.open(f"file:///w/{name}", language, 1, text)
    ref = _finding(doc, row, fixed)
    [offer] = engine.offer(doc, [ref], None, lazy=False)
    assert offer.finding == 0 and offer.data is None and offer.title == "Apply suggested fix: off by one"
    eol = "\r\n" if "\r\n" in text else "\n"
    lines = text.split(eol)
    assert _edits(doc, offer.edits) == eol.join([*lines[:row], fixed, *lines[row + 1:]])
    # a line inserted above: the fix follows its line
    store.change(doc.uri, 2, [((0, 0), (0, 0), "// top" + eol)], "utf-16")
    [moved] = engine.offer(doc, [ref], None, lazy=False)
    assert all(e.span.start_line == row + 1 for e in moved.edits)
    # its line edited: nothing is offered (and no "Fix with AI" without lazy resolve)
    store.change(doc.uri, 3, [((row + 1, 0), (row + 1, 0), " ")], "utf-16")
    assert engine.offer(doc, [ref], None, lazy=False) == []


def test_a_fix_that_does_not_parse_or_changes_nothing_is_not_offered() -> None:
    engine, store = _engine()
    doc = store.open("file:///w/a.py", "python", 1, CASES[0][2])
    assert engine.offer(doc, [_finding(doc, 1, "    total = xs[len(xs)")], None, lazy=False) == []
    assert engine.offer(doc, [_finding(doc, 1, "    total = xs[len(xs)]")], None, lazy=False) == []


def test_findings_without_a_fix_and_selections_get_fix_with_ai_only_for_lazy_clients() -> None:
    engine, store = _engine()
    doc = store.open("file:///w/a.py", "python", 1, "def f(xs):\n    total = sum(\n        xs)\n    return total\n")
    ref = _finding(doc, 2, None, "x" * 100)
    assert engine.offer(doc, [ref], (0, 1), lazy=False) == []
    found, selected = engine.offer(doc, [ref], (0, 1), lazy=True)
    assert found.finding == 0 and found.title == f"Fix with AI: {short('x' * 100)}" and len(found.title) < 90
    assert found.data["kind"] == AI_FIX and (found.data["first"], found.data["last"]) == (1, 2)  # the statement
    assert selected.finding is None and selected.title == "Fix with AI: lines 1-2"
    assert (selected.data["first"], selected.data["last"], selected.data["problem"]) == (0, 1, "")
    [one] = engine.offer(doc, [], (3, 3), lazy=True)
    assert one.title == "Fix with AI: line 4"
    assert engine.offer(doc, [], (0, 4), lazy=True)[0].title == "Fix with AI: lines 1-5"
    assert engine.offer(doc, [], (0, 5), lazy=True) == []  # past the last line
    assert engine.offer(doc, [], (0, MAX_FIX_LINES), lazy=True) == []  # too many lines


def test_secret_binary_and_unknown_files_get_nothing() -> None:
    engine, store = _engine()
    for uri, language, text in (("file:///w/id_rsa.py", "python", CASES[0][2]), ("file:///w/a.bin", "python",
                                "x\x00y\n"), ("file:///w/notes.zzz", "plaintext", "hello\n")):
        doc = store.open(uri, language, 1, text)
        assert engine.offer(doc, [_finding(doc, 0, "changed")], (0, 0), lazy=True) == [], uri


def test_finding_data_round_trip_and_foreign_data() -> None:
    engine, store = _engine()
    doc = store.open("file:///w/a.py", "python", 4, CASES[0][2])
    data = _finding(doc, 1, "    pass").data
    read = FindingData.read(data, 99)
    assert read.version == 4 and read.fix is not None and read.fix.replacement == "    pass"
    assert FindingData.read({"rule": "x"}, 7) == FindingData(7, None)  # no version recorded: the current one
    assert FindingData.read(None, 7) == FindingData(7, None)
    assert FindingData.read({"version": "3", "fix": {"start": "x"}}, 7) == FindingData(None, None)
    # a diagnostic of an unknown version offers nothing
    assert engine.offer(doc, [FindingRef(1, 1, "m", {"version": 2})], None, lazy=True) == []


async def test_resolve_answers_only_its_own_actions_and_refuses_moved_lines() -> None:
    engine, store = _engine()
    assert await engine.resolve({"kind": "other"}) is None
    assert await engine.resolve("garbage") is None
    bad = await engine.resolve({"kind": AI_FIX, "uri": 5})
    assert bad is not None and bad.edits is None and bad.message is None
    doc = store.open("file:///w/a.py", "python", 1, CASES[0][2])
    [offer] = engine.offer(doc, [], (1, 1), lazy=True)
    store.change(doc.uri, 2, [((1, 4), (1, 9), "sum")], "utf-16")
    moved = await engine.resolve(offer.data)
    assert moved is not None and moved.edits is None and "changed since" in moved.message
    store.close(doc.uri)
    closed = await engine.resolve(offer.data)
    assert closed is not None and closed.doc is None and closed.edits is None and closed.message


async def test_resolve_returns_the_models_validated_edits(standin: StandIn) -> None:
    settings = Settings(endpoint=standin.base_url)
    client = ModelClient(settings.endpoint, settings.model, None)
    engine, store = _engine(client, settings)
    name, language, text, row, fixed = CASES[1]
    doc = store.open(f"file:///w/{name}", language, 1, text)
    [offer] = engine.offer(doc, [], (row, row), lazy=True)
    standin.script(Reply(text=f"{fixed}\n```\n"))
    resolved = await engine.resolve(offer.data)
    assert resolved is not None and resolved.doc is doc and resolved.message is None
    assert _edits(doc, resolved.edits) == text.replace("xs.length]", "xs.length - 1]")
    standin.script(Reply(text="  const t = (;\n```\n"))
    refused = await engine.resolve(offer.data)
    assert refused is not None and refused.edits is None and refused.message == "no AI fix: the model's code does not parse"
    await client.aclose()
