"""Anchoring findings to their quote: off-by-N lines, duplicates, missing quotes, fixes, re-anchoring."""

from __future__ import annotations

from lsp_server.core.findings import Finding, LineFix, Severity, Span
from lsp_server.core.text import TextBuffer
from lsp_server.engines.review_anchor import RADIUS, Anchored, anchor_all, locate, reanchor
from lsp_server.model.findings import ReportedFinding, ReportedFix

LINES = (
    "def total(items):",          # row 10
    "    n = 0",                   # 11
    "    for i in range(len(items) + 1):",  # 12
    "        n += items[i]",       # 13
    "    label = '日本😀'; n += items[i]",  # 14
    "    return n",                # 15
)
ROWS = tuple(range(10, 16))


def reported(line: int, quote: str, fix: ReportedFix | None = None) -> ReportedFinding:
    return ReportedFinding(line, quote, "error", "off-by-one", "Past the end.", fix)


def test_exact_line() -> None:
    [found] = anchor_all([reported(13, "range(len(items) + 1)")], ROWS, LINES).anchored
    assert (found.index, found.col, found.end_index, found.end_col) == (2, 13, 2, 34)
    assert found.quote == "range(len(items) + 1)"


def test_off_by_n_lines_within_the_radius() -> None:
    for wrong in (11, 15, 16, 13 + RADIUS):
        [found] = anchor_all([reported(wrong, "range(len(items) + 1)")], ROWS, LINES).anchored
        assert found.index == 2
    assert anchor_all([reported(13 + RADIUS + 1, "range(len(items) + 1)")], ROWS, LINES).anchored == []


def test_duplicates_take_the_nearest_then_the_earlier() -> None:
    assert locate("items[i]", 14, ROWS, LINES)[0] == 3  # row 13 is the reported one
    assert locate("items[i]", 15, ROWS, LINES)[0] == 4  # row 14 is nearer to 14 (line 15)
    assert locate("items[i]", 17, ROWS, LINES)[0] == 4
    assert locate("n", 12, ROWS, LINES)[:2] == (1, 4)  # first occurrence on the line


def test_missing_quote_is_dropped() -> None:
    report = anchor_all([reported(13, "items.pop()"), reported(13, "  ")], ROWS, LINES)
    assert report.anchored == [] and len(report.dropped) == 2


def test_columns_are_utf8_bytes_after_emoji_and_cjk() -> None:
    [found] = anchor_all([reported(15, "n += items[i]")], ROWS, LINES).anchored
    line = LINES[4]
    assert found.index == 4 and found.col == len(line[: line.index("n += items")].encode("utf-8"))
    assert found.end_col - found.col == len("n += items[i]")


def test_multi_line_and_numbered_quotes() -> None:
    [found] = anchor_all([reported(13, "for i in range(len(items) + 1):\n        n += items[i]")], ROWS, LINES).anchored
    assert (found.index, found.col, found.end_index, found.end_col) == (2, 4, 3, 21)
    [numbered] = anchor_all([reported(14, "14 |         n += items[i]")], ROWS, LINES).anchored
    assert numbered.index == 3 and numbered.quote == "n += items[i]"


def test_gaps_in_the_unit_rows() -> None:
    rows = (0, 1, 7, 8)
    lines = ("x = 1", "y = x", "print(y)", "z = y")
    assert locate("y", 9, rows, lines)[0] == 3
    assert locate("x = 1\ny = x", 1, rows, lines)[0] == 0
    assert locate("y = x\nprint(y)", 2, rows, lines) is None  # not contiguous in the file


def test_fix_inside_the_unit_is_kept_and_shifted_with_the_quote() -> None:
    fix = ReportedFix(13, 13, "    for i in range(len(items)):")
    [kept] = anchor_all([reported(13, "range(len(items) + 1)", fix)], ROWS, LINES).anchored
    assert kept.fix == (2, 2, "    for i in range(len(items)):")
    # the model's numbers are off by two for both the line and the fix: both move
    shifted = ReportedFix(11, 11, "    for i in range(len(items)):")
    [moved] = anchor_all([reported(11, "range(len(items) + 1)", shifted)], ROWS, LINES).anchored
    assert moved.index == 2 and moved.fix == (2, 2, "    for i in range(len(items)):")


def test_fix_outside_the_unit_or_missing_the_problem_is_dropped() -> None:
    for fix in (ReportedFix(3, 4, "x"), ReportedFix(17, 18, "x"), ReportedFix(16, 16, "    return 0")):
        report = anchor_all([reported(15, "range(len(items) + 1)", fix)], ROWS, LINES)
        [finding] = report.anchored
        assert finding.fix is None and report.dropped_fixes


def test_fix_that_changes_nothing_or_writes_a_mask_is_dropped() -> None:
    same = ReportedFix(16, 16, "    return n")
    masked = ReportedFix(16, 16, "    return '<redacted>'")
    for fix in (same, masked):
        [finding] = anchor_all([reported(16, "return n", fix)], ROWS, LINES).anchored
        assert finding.fix is None


def test_fix_indentation_is_restored() -> None:
    fix = ReportedFix(16, 16, "return n or 0")
    [finding] = anchor_all([reported(16, "return n", fix)], ROWS, LINES).anchored
    assert finding.fix == (5, 5, "    return n or 0")


def test_json_round_trip_and_materialising_at_new_rows() -> None:
    [item] = anchor_all([reported(13, "range(len(items) + 1)", ReportedFix(13, 13, "    for i in items:"))],
                        ROWS, LINES).anchored
    again = Anchored.from_json(item.to_json())
    assert again == item
    finding = again.finding("f.py", tuple(r + 5 for r in ROWS), LINES, "function total")
    assert finding.span == Span(17, 13, 17, 34) and finding.fix.start_line == 17
    assert finding.fix.original == LINES[2]


def test_dedup_and_cap() -> None:
    many = [reported(13, "range(len(items) + 1)")] * 3
    report = anchor_all(many, ROWS, LINES)
    assert len(report.anchored) == 1 and len(report.dropped) == 2


def _finding(row: int, quote: str, col: int, fix: LineFix | None = None) -> Finding:
    return Finding("f.py", Span(row, col, row, col + len(quote)), Severity.ERROR, "r", "m", quote, fix)


def test_reanchor_follows_moved_text_and_drops_what_is_gone() -> None:
    text = "a = 1\nb = items[i]\nc = 3\n"
    fix = LineFix(1, 1, "b = items[i - 1]", "b = items[i]")
    stays = _finding(1, "items[i]", 4, fix)
    moved = reanchor([stays], TextBuffer("# new\n# lines\n" + text))
    assert moved[0].span == Span(3, 4, 3, 12) and moved[0].fix == LineFix(3, 3, "b = items[i - 1]", "b = items[i]")
    same_line = reanchor([stays], TextBuffer(text.replace("b = ", "b =  ")))
    assert same_line[0].span == Span(1, 5, 1, 13) and same_line[0].fix is None  # the line changed
    assert reanchor([stays], TextBuffer(text.replace("items[i]", "items[j]"))) == []
    assert reanchor([stays], TextBuffer("")) == []


def test_a_quote_with_a_masked_secret_lands_on_the_secret() -> None:
    from lsp_server.core.secrets import SecretFilter

    lines = ("def connect():", '    conn = db.connect(password="hunter2-anchor", host="h")', "    return conn")
    rows = (0, 1, 2)
    shown = SecretFilter().mask_mapped(lines, "a.py")
    assert 'password="<redacted>"' in shown[1].text
    quote = 'password="<redacted>"'  # what the model saw and quotes
    [item] = anchor_all([reported(2, quote)], rows, lines, shown).anchored
    start = lines[1].index("password=")
    assert (item.index, item.col, item.end_index, item.end_col) == (1, start, 1, start + len('password="hunter2-anchor"'))
    assert item.quote == quote and "hunter2" not in str(item.to_json())  # what is cached is masked
    finding = Anchored.from_json(item.to_json()).finding("a.py", rows, lines, "function connect")
    assert finding.quote == 'password="hunter2-anchor"'  # the live finding quotes the real text
    assert anchor_all([reported(2, quote)], rows, lines).anchored == []  # against real lines: not there


def test_a_cached_fix_that_would_write_a_mask_is_left_out() -> None:
    lines = ('KEY = "real-key-value"', "x = 1")
    item = Anchored(1, 0, 1, 5, "x = 1", "warning", "r", "m", (0, 1, 'KEY = "<redacted>"\nx = 2'))
    assert item.finding("a.py", (0, 1), lines, "module").fix is None
    kept = Anchored(1, 0, 1, 5, "x = 1", "warning", "r", "m", (1, 1, "x = 2"))
    assert kept.finding("a.py", (0, 1), lines, "module").fix is not None
