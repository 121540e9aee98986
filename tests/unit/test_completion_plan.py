"""plan_completion: budget, context outside the window, secrets, cleaner context."""

from __future__ import annotations

import pytest

from lsp_server.config import DEFAULT_SECRET_GLOBS
from lsp_server.core.secrets import SecretFilter
from lsp_server.engines.completion_plan import detect_indent_unit, plan_completion
from lsp_server.engines.documents import DocumentStore
from lsp_server.model.cleaning import clean_completion
from lsp_server.model.linemachine import PREFIX_SCAN_CHARS
from lsp_server.model.tokens import estimate_tokens
from lsp_server.syntax.languages import LanguageRegistry

SECRETS = SecretFilter(DEFAULT_SECRET_GLOBS)


def _doc(text: str, name: str = "m.py", language: str = "python"):
    store = DocumentStore(LanguageRegistry(), max_parse_bytes=10**7)
    return store.open(f"file:///w/{name}", language, 1, text)


def _long_python() -> str:
    head = 'import os\nfrom pathlib import Path\n\nAPI_TOKEN = "ghp_' + "z" * 36 + '"\n\n\ndef helper(path: Path, depth: int = 2) -> list[str]:\n    return []\n\n'
    body = "".join(f"\ndef filler_{i}(x):\n    value = x * {i}\n    return value\n\n" for i in range(400))
    tail = "\ndef main():\n    files = helper(Path('.'))\n    \n"
    return head + body + tail


def test_budget_is_respected_and_far_context_is_carried() -> None:
    text = _long_python()
    doc = _doc(text)
    cursor = len(text.encode()) - 1  # on the blank indented line inside main()
    plan = plan_completion(doc, cursor, budget_tokens=1024, count_tokens=estimate_tokens, secrets=SECRETS, system_prompt=None)
    user = plan.prompt.messages[1]["content"]
    assert plan.prompt_tokens <= 1024
    assert sum(estimate_tokens(m["content"]) for m in plan.prompt.messages) <= 1024 + 64
    # imports and the signature of `helper` (used at the cursor) are far above the window, but present
    assert "Imports of this file" in user and "from pathlib import Path" in user
    assert "def helper(path: Path, depth: int = 2) -> list[str]:" in user
    assert "filler_0(" not in user  # the window does not reach the top of the file
    assert plan.multiline and plan.line_prefix == "    "
    assert plan.clean.indent_unit == "    " and not plan.clean.brace_language


def test_secrets_never_reach_the_prompt() -> None:
    text = 'TOKEN = "ghp_' + "q" * 36 + '"\nx = 1\n'
    doc = _doc(text)
    plan = plan_completion(doc, len(text.encode()), budget_tokens=2048, count_tokens=estimate_tokens, secrets=SECRETS, system_prompt=None)
    assert "q" * 36 not in str(plan.prompt.messages)


def test_mid_line_cursor_is_single_line_with_suffix_for_the_cleaner() -> None:
    text = "def f(a, b):\n    return max(a, )\n"
    doc = _doc(text)
    cursor = text.index(", )") + 2
    plan = plan_completion(doc, cursor, budget_tokens=2048, count_tokens=estimate_tokens, secrets=SECRETS, system_prompt=None)
    assert not plan.multiline
    assert plan.line_prefix == "    return max(a, " and plan.line_suffix == ")"


def test_same_state_same_prompt_key_and_typing_changes_it() -> None:
    text = "def f():\n    x = 1\n    \n"
    doc = _doc(text)
    args = dict(budget_tokens=2048, count_tokens=estimate_tokens, secrets=SECRETS, system_prompt=None)
    a = plan_completion(doc, len(text.encode()) - 1, **args)
    b = plan_completion(doc, len(text.encode()) - 1, **args)
    c = plan_completion(doc, len(text.encode()) - 6, **args)
    assert a.prompt_key == b.prompt_key != c.prompt_key


def test_plain_text_and_go_tabs() -> None:
    doc = _doc("notes\n- a\n- ", name="n.txt", language="plaintext")
    plan = plan_completion(doc, len(doc.syntax.buffer.data), budget_tokens=1024, count_tokens=estimate_tokens, secrets=SECRETS, system_prompt=None)
    assert plan.prompt.messages[1]["content"].startswith("File: n.txt")
    assert detect_indent_unit(["func f() {", "\tx := 1", "\tif x {", "\t\treturn", "\t}", "}"]) == "\t"
    assert detect_indent_unit(["a:", "  b", "    c", "  d"]) == "  "


def test_foreign_names_are_used_names_defined_elsewhere_nearest_first() -> None:
    from lsp_server.syntax.context import foreign_names

    text = ("from geo import area, volume\n\n\ndef local_helper(x):\n    return x\n\n\n"
            "def main():\n    # mention_in_comment here\n    v = volume(3)\n    a = area(local_helper(2))\n    ")
    doc = _doc(text)
    names = foreign_names(doc.syntax, len(text.encode()))
    assert names[:2] == ("area", "volume")  # nearest to the cursor first
    assert "local_helper" not in names  # defined in this file
    assert "mention_in_comment" not in names  # not code


def test_related_definitions_are_in_the_prompt_within_their_budget() -> None:
    text = "from geo import area\n\n\ndef main():\n    a = area("
    doc = _doc(text)
    asked: list[tuple[str, ...]] = []

    def lookup(path: str, names: tuple[str, ...], comment: str) -> list[str]:
        asked.append(names)
        return [f"{comment} geo.py\ndef area(radius: float) -> float:", f"{comment} big.py\n" + "x = 1\n" * 2000]

    plan = plan_completion(doc, len(text.encode()), budget_tokens=1000, count_tokens=estimate_tokens,
                           secrets=SecretFilter(DEFAULT_SECRET_GLOBS), system_prompt=None, related=lookup)
    user = plan.prompt.messages[1]["content"]
    assert asked and "area" in asked[0]
    assert "# geo.py\ndef area(radius: float) -> float:" in user
    assert "big.py" not in user  # over the 20% share of the budget: left out
    assert plan.prompt_tokens <= 1000


def test_attribute_uses_are_named_through_their_object() -> None:
    from lsp_server.syntax.context import foreign_names

    text = "import geometry\n\n\ndef main(shape):\n    for x in shape.sides:\n        geometry.area(x)\n    "
    names = foreign_names(_doc(text).syntax, len(text.encode()))
    assert "geometry.area" in names and "shape.sides" in names
    assert "area" not in names and "sides" not in names  # only ever reached as attributes
    assert "for" not in names and "in" not in names  # keywords are not names


def _plan_at(text: str, marker: str, name: str, language: str):
    cursor = text.index(marker)
    doc = _doc(text.replace(marker, ""), name=name, language=language)
    return plan_completion(doc, len(text[:cursor].encode()), budget_tokens=2048, count_tokens=estimate_tokens,
                           secrets=SECRETS, system_prompt=None)


def test_indent_unit_of_a_go_file_whose_only_indented_line_is_the_cursor_line() -> None:
    plan = _plan_at("package main\n\nfunc add(a, b int) int {\n\t<|>\n}\n", "<|>", "add.go", "go")
    assert plan.clean.indent_unit == "\t"
    # nothing indented at all: gofmt's tabs for Go, four spaces elsewhere
    assert _plan_at("package main\n\nfunc f() {\n<|>\n}\n", "<|>", "f.go", "go").clean.indent_unit == "\t"
    assert _plan_at("function f() {\n<|>\n}\n", "<|>", "f.ts", "typescript").clean.indent_unit == "    "


def test_indent_unit_follows_the_surrounding_block_in_a_mixed_file() -> None:
    spaces = "def a():\n    x = 1\n    if x:\n        y = 2\n    return x\n\n"
    tabs = "def b():\n\tx = 1\n\tif x:\n\t\t<|>\n"
    plan = _plan_at(spaces * 3 + tabs, "<|>", "mixed.py", "python")
    assert plan.clean.indent_unit == "\t"
    plan = _plan_at(tabs.replace("<|>", "y = 2") + "\n" + spaces * 3 + "def c():\n    <|>\n", "<|>", "m2.py", "python")
    assert plan.clean.indent_unit == "    "
    # no indentation on the cursor line: the nearest indented lines decide
    plan = _plan_at(spaces * 3 + "def b():\n\tx = 1\n\tif x:\n\t\ty = 2\n<|>\n", "<|>", "m3.py", "python")
    assert plan.clean.indent_unit == "\t"


def test_indent_unit_ignores_block_comment_stars_in_a_tab_file() -> None:
    text = "/*\n * A comment\n * block\n */\nint f(void) {\n\treturn 1;\n}\n<|>\n"
    assert _plan_at(text, "<|>", "c.c", "c").clean.indent_unit == "\t"
    assert detect_indent_unit(["x = 1", "", "    "], 2) == "    "
    assert detect_indent_unit(["class A {", "  m() {", "    x();", "  }", "}"], 2) == "  "


def test_cleaner_gets_the_lines_above_the_cursor_and_single_line_mid_line() -> None:
    plan = _plan_at("import os\n\ndef f(x):\n    y = compute(<|>)\n", "<|>", "p.py", "python")
    assert plan.clean.preceding_lines == ("import os", "", "def f(x):")
    assert not plan.multiline and plan.clean.line_suffix == ")"
    crlf = _plan_at("def f(x):\r\n    y = 1\r\n    <|>\r\n", "<|>", "c.py", "python")
    assert crlf.clean.preceding_lines == ("def f(x):", "    y = 1") and crlf.clean.eol == "\r\n"



# -- the cleaner's bracket scan of a long cursor line starts outside literals ---------------------
_LONG = PREFIX_SCAN_CHARS + 200
# (file, language, a literal straddling the cut, the code between it and the call, the open call,
# the answer, what the cleaned answer starts with)
STRADDLING = [
    ("m.js", "javascript", "`" + "y" * _LONG + "`", "; ", "f(values.map((v) => v * 2), ",
     "```js\nlimit)\nconsole.log(a);\n```", "limit)"),
    ("m.ts", "typescript", "`x ${'(' + 'y'.repeat(3)} " + "y" * _LONG + "`", "; ", "f(values.map((v) => v), ",
     "```ts\nlimit)\nconsole.log(a);\n```", "limit)"),
    ("n.js", "javascript", "`" + "é😀\t" * (_LONG // 3) + "`", "; ", "f(values.map((v) => v * 2), ",
     "```js\nlimit)\nconsole.log(a);\n```", "limit)"),
    ("m.go", "go", "`" + "y" * _LONG + "`", "; ", "f(values(v), ",
     "```go\nlimit)\nfmt.Println(a)\n```", "limit)"),
    ("m.cpp", "cpp", "/* " + "y`'\"" * (_LONG // 4) + " */", " int a = ", "f(values(v), ",
     "```cpp\nlimit);\nreturn a;\n```", "limit);"),
    ("m.rs", "rust", 'r"' + "y`'" * (_LONG // 3) + '"', "; ", "f(values(v), ",
     "```rust\nlimit);\nprintln!(\"{}\", a);\n```", "limit);"),
    ("m.py", "python", '"""' + "y`'" * (_LONG // 3) + '"""', "; ", "f(values(v), ",
     "```python\nlimit)\nprint(a)\n```", "limit)"),
]


def _scan_plan(name: str, language: str, before: str, code: str):
    text = before + code + "\n"
    doc = _doc(text, name, language)
    cursor = len((before + code).encode("utf-8"))
    return plan_completion(doc, cursor, budget_tokens=4096, count_tokens=estimate_tokens, secrets=SECRETS,
                           system_prompt=None)


@pytest.mark.parametrize(("name", "language", "literal", "between", "code", "raw", "start"), STRADDLING,
                         ids=[f"{case[1]}-{case[0]}" for case in STRADDLING])
def test_a_long_line_cut_inside_a_literal_is_scanned_from_its_end(
        name: str, language: str, literal: str, between: str, code: str, raw: str, start: str) -> None:
    plan = _scan_plan(name, language, "a = " + literal + between, code)
    prefix = plan.clean.line_prefix
    literal_end = len(prefix) - len(between + code)
    assert literal_end - len(literal) < len(prefix) - PREFIX_SCAN_CHARS < literal_end, "the cut is inside it"
    assert prefix[plan.clean.scan_from:] == between + code
    assert clean_completion(raw, plan.clean).startswith(start)


def test_a_short_line_and_a_cut_in_code_keep_the_plain_window() -> None:
    short = _scan_plan("m.js", "javascript", "const a = `yy`; ", "f(values.map((v) => v * 2), ")
    assert short.clean.scan_from == 0
    code = "x = y + " * (_LONG // 8)
    plain = _scan_plan("m.js", "javascript", code, "f(values(v), ")
    assert plain.clean.scan_from == len(plain.clean.line_prefix) - PREFIX_SCAN_CHARS


def test_a_cursor_inside_the_long_literal_keeps_the_plain_window() -> None:
    """The literal does not end before the cursor: there is no later start that is outside it."""
    plan = _scan_plan("m.js", "javascript", "const a = `" + "y" * _LONG, "")
    assert plan.clean.scan_from == len(plan.clean.line_prefix) - PREFIX_SCAN_CHARS
