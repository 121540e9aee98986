"""The pure parts of the AI actions: action definitions from settings, reading streamed answers,
indentation, the prompt layout, and where tests go."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lsp_server.config import load_settings
from lsp_server.config_actions import BUILTIN_ACTIONS, lookup, parse_custom, take_custom
from lsp_server.engines.test_layout import find_test_place, is_test_file
from lsp_server.model.action_answers import (
    AnswerReader, block_comment_end, brace_body_end, clean_markdown, docstring_end, line_comment_end, python_body_end,
    reindent,
)
from lsp_server.model.action_prompts import ActionInput, build_action_prompt


# -- definitions -------------------------------------------------------------------------------------


def test_custom_actions_from_every_layer_and_their_problems(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.mistral-lsp.actions]\ntemperature = 0.3\n\n'
        '[[tool.mistral-lsp.actions.custom]]\nname = "shout"\nprompt = "Uppercase {selection}"\nscope = "selection"\n'
        'languages = ["python", "typescriptreact"]\n\n'
        '[[tool.mistral-lsp.actions.custom]]\nname = "explain"\nprompt = "{code}"\n')
    editor = {"actions.custom": [{"name": "shout", "title": "SHOUT", "prompt": "Loud {code}", "output": "replace"}]}
    settings, problems = load_settings(editor, root=tmp_path, environ={})
    assert settings.actions_temperature == 0.3
    [shout] = settings.actions_custom
    assert shout.title == "SHOUT" and shout.source == "editor settings"  # the editor's replaces the project's
    assert problems == ["pyproject.toml [tool.mistral-lsp]: actions.custom[1] ('explain'): field 'name': 'explain' is a built-in "
                        "action; the action is ignored"]


@pytest.mark.parametrize(("entry", "problem"), [
    ({"name": "x", "prompt": "{code}", "scope": "line"}, "field 'scope': 'line' is not one of selection, function, file"),
    ({"name": "x", "prompt": "{code}", "output": "append"}, "field 'output': 'append' is not one of replace"),
    ({"name": "x", "prompt": "{code"}, "field 'prompt': "),
    ({"name": "x", "prompt": "{code!r}"}, "field 'prompt': {code} takes no format or conversion"),
    ({"name": "x", "prompt": "{}"}, "field 'prompt': unknown field {}"),
    ({"name": "x", "prompt": ""}, "field 'prompt': required"),
    ({"name": "1x", "prompt": "{code}"}, "field 'name': required"),
    ({"name": "x", "prompt": "{code}", "languages": ["cobol"]}, "field 'languages': unknown language 'cobol'"),
    ({"name": "x", "prompt": "{code}", "languages": "python", "temperature": 3}, "field 'temperature': 3 is not"),
    ({"name": "x", "prompt": "{code}", "colour": "red"}, "field 'colour': unknown field"),
    ("not a table", "not a table"),
])
def test_bad_definitions_name_file_entry_and_field(entry: object, problem: str) -> None:
    specs, problems = parse_custom([entry], ".mistral-lsp.toml", frozenset({"python", "go"}))
    assert specs == [] and len(problems) == 1
    assert problems[0].startswith(".mistral-lsp.toml: actions.custom[0]") and problem in problems[0]
    assert problems[0].endswith("ignored")


def test_keyed_tables_duplicates_and_a_wrong_shape() -> None:
    specs, problems = parse_custom({"tidy": {"prompt": "Tidy {code}", "scope": ["function", "file"]}}, "f.toml")
    assert [(s.name, s.scopes, s.output) for s in specs] == [("tidy", ("function", "file"), "replace")]
    assert problems == []
    specs, problems = parse_custom([{"name": "a", "prompt": "{code}"}, {"name": "a", "prompt": "{code}"}], "f")
    assert len(specs) == 1 and "a second action with this name" in problems[0]
    assert parse_custom("oops", "f")[1] == ["f: actions.custom must be a list of tables (one per action); it is ignored"]


def test_take_custom_splits_every_spelling() -> None:
    rest, custom = take_custom({"actions": {"temperature": 0.2, "Custom": [1]}, "endpoint": "x"})
    assert rest == {"actions": {"temperature": 0.2}, "endpoint": "x"} and custom == [1]
    assert take_custom({"actions.custom": [2]}) == ({}, [2])


def test_builtins_and_aliases() -> None:
    assert [s.name for s in BUILTIN_ACTIONS] == ["implement", "optimise", "explain", "document", "tests", "edit"]
    assert lookup("optimize", ()).name == "optimise" and lookup("nope", ()) is None
    assert lookup("edit", ()).asks_instruction and not lookup("explain", ()).asks_instruction
    assert lookup("explain", ()).explains


# -- answers ------------------------------------------------------------------------------------------


def _read(kind: str, chunks: list[str], **kwargs: object):
    reader = AnswerReader(kind, **kwargs)  # type: ignore[arg-type]
    stopped = None
    for index, chunk in enumerate(chunks):
        if reader.feed(chunk):
            stopped = index
            break
    return reader.finish(), stopped


def test_code_stops_at_the_closing_fence_even_mid_chunk() -> None:
    answer, stopped = _read("code", ["    return 1\n", "```\nSome", " prose after"])
    assert answer.code == "    return 1" and answer.complete and stopped == 1


def test_a_chat_preamble_then_a_new_fence_starts_over() -> None:
    answer, _ = _read("code", ["Sure! Here is the code:\n```python\nx = 1\n```"])
    assert answer.code == "x = 1"


def test_reason_then_code() -> None:
    answer, _ = _read("reason", [" It avoids a copy.\nIt is linear.\n\n```go\nfor i := range xs {\n}\n```\nmore"])
    assert answer.reason == "It avoids a copy. It is linear." and answer.code == "for i := range xs {\n}"


def test_markdown_is_unwrapped() -> None:
    answer, stopped = _read("markdown", ["```markdown\n# Title\n", "text\n```\n"])
    assert answer.markdown == "# Title\ntext" and stopped is None
    assert clean_markdown("  plain  ") == "plain"


def test_crlf_and_control_characters() -> None:
    answer, _ = _read("code", ["a = 1\r\nb = \x002\r\n```"])
    assert answer.code == "a = 1\nb = 2"


def test_python_body_ends_at_the_dedent() -> None:
    answer, stopped = _read("code", ["        x = 1\n\n        return x\n    def next(self):\n"],
                            end=python_body_end("    "))
    assert answer.code == "        x = 1\n\n        return x" and stopped == 0


def test_brace_body_ends_at_the_function_closer_not_an_inner_one() -> None:
    answer, _ = _read("code", ['  if (a) {\n    return "}";\n  }\n  return b; }\nfunction other() {}\n'],
                      end=brace_body_end())
    assert answer.code == '  if (a) {\n    return "}";\n  }\n  return b;' and answer.complete


def test_an_unclosed_brace_body_is_cut() -> None:
    answer, _ = _read("code", ["  return a + b;"], end=brace_body_end())
    assert not answer.complete
    answer, _ = _read("code", ["    return a + b"], end=python_body_end(""))
    assert answer.complete  # Python has no closer: the end of the answer is the end of the body


def test_doc_comment_rules() -> None:
    answer, _ = _read("code", ["\n * Adds.\n */\nfunction f() {}\n"], end=block_comment_end(), continues=True)
    assert answer.code == "\n * Adds.\n */"
    answer, _ = _read("code", [" Adds two.\n/// More.\npub fn f() {}\n"], end=line_comment_end("///"), continues=True)
    assert answer.code == " Adds two.\n/// More."
    answer, _ = _read("code", ['Twice x."""\n    return x\n'], end=docstring_end('"""'), continues=True)
    assert answer.code == 'Twice x."""' and answer.complete


def test_reindent_moves_levels_to_the_files_unit() -> None:
    assert reindent(["  if x:", "    y()", "", "  z()"], "\t", "\t") == ["\tif x:", "\t\ty()", "", "\tz()"]
    assert reindent(["if (a) {", "        b();", "}"], "    ", "    ") == ["    if (a) {", "        b();", "    }"]
    assert reindent(["\tfor {", "\t\tx++", "\t}"], "", "    ") == ["for {", "    x++", "}"]
    # five columns: one level (of four, the default step) plus one column of alignment
    assert reindent(["a(1,", "     2)"], "  ", "  ") == ["  a(1,", "     2)"]


# -- prompts ----------------------------------------------------------------------------------------


def test_prompt_layout_puts_stable_context_first() -> None:
    data = ActionInput(path="a.py", language="python", request="Do it.", before=[(9, "x = 1"), (10, "")],
                       after=[(14, "y = 2")], target=(11, 13), imports=["import os"], signatures=["def g(): ..."],
                       scopes=["class A:"], prefill="```python\n")
    system, user, assistant = build_action_prompt(data)
    content = user["content"]
    assert system["role"] == "system" and assistant == {"role": "assistant", "content": "```python\n"}
    assert content.index("Imports") < content.index("Definitions from this file") < content.index("inside")
    assert " 9 | x = 1\n10 |\n   | ... (lines 11-13: the code below) ...\n14 | y = 2" in content
    assert content.endswith("Do it.")
    explain = build_action_prompt(ActionInput(path="a.py", language="python", request="Explain.", explain=True))
    assert len(explain) == 2 and "explaining" not in explain[0]["content"] and "Markdown" in explain[0]["content"]


def test_prompt_shows_a_crlf_file_s_context_with_plain_line_breaks() -> None:
    """The fenced context (shared ``prompts.fenced``) writes a file's CRLF and lone CR as ``\\n``."""
    data = ActionInput(path="a.ts", language="typescript", request="Document it.", target=(3, 3),
                       before=[(1, "import x from 'x';"), (2, "")], imports=["import x from 'x';\r"],
                       style="/**\r\n * Adds.\r\n */\r\n/** Old. */\r", scopes=["class A {"])
    content = build_action_prompt(data)[1]["content"]
    assert "\r" not in content
    assert "```typescript\n/**\n * Adds.\n */\n/** Old. */\n\n```" in content
    assert "1 | import x from 'x';\n2 |\n  | ... (line 3: the code below) ...\n```" in content


# -- tests layout -----------------------------------------------------------------------------------


def test_python_tests_folder_beside_files_and_the_setting(tmp_path: Path) -> None:
    source = tmp_path / "src" / "pkg" / "geo.py"
    source.parent.mkdir(parents=True)
    source.write_text("")
    assert find_test_place(source, "python", tmp_path, None) is None
    (source.parent / "test_other.py").write_text("")
    beside = find_test_place(source, "python", tmp_path, None)
    assert beside.path == source.parent / "test_geo.py" and "`pkg.geo`" in beside.hint
    (tmp_path / "tests").mkdir()
    assert find_test_place(source, "python", tmp_path, None).path == tmp_path / "tests" / "test_geo.py"
    assert find_test_place(source, "python", tmp_path, "qa/unit").path == tmp_path / "qa" / "unit" / "test_geo.py"
    assert find_test_place(tmp_path / "tests" / "test_geo.py", "python", tmp_path, None) is None


def test_js_go_rust_java_c_layouts(tmp_path: Path) -> None:
    ts = tmp_path / "src" / "math.ts"
    ts.parent.mkdir()
    assert find_test_place(ts, "typescript", tmp_path, None) is None
    (tmp_path / "package.json").write_text(json.dumps({"devDependencies": {"vitest": "1"}}))
    place = find_test_place(ts, "typescript", tmp_path, None)
    assert place.path == ts.with_name("math.test.ts") and place.framework.startswith("Vitest")
    (ts.parent / "__tests__").mkdir()
    place = find_test_place(ts, "typescript", tmp_path, None)
    assert place.path == ts.parent / "__tests__" / "math.test.ts" and "`../math`" in place.hint
    assert find_test_place(tmp_path / "a.go", "go", tmp_path, None).path == tmp_path / "a_test.go"
    assert find_test_place(tmp_path / "lib.rs", "rust", tmp_path, None).same_file
    java = tmp_path / "src" / "main" / "java" / "org" / "x" / "Calc.java"
    assert find_test_place(java, "java", tmp_path, None).path == \
        tmp_path / "src" / "test" / "java" / "org" / "x" / "CalcTest.java"
    assert find_test_place(tmp_path / "calc.c", "c", tmp_path, None) is None
    (tmp_path / "test").mkdir()
    assert find_test_place(tmp_path / "calc.c", "c", tmp_path, None).path == tmp_path / "test" / "test_calc.c"
    for name in ("a.test.ts", "a.spec.js", "x_test.go", "FooTest.java", "test_x.py", "conftest.py"):
        assert is_test_file(Path(name)), name


def test_context_echo_is_dropped_only_when_it_is_one() -> None:
    from lsp_server.engines.action_results import drop_context_echo

    above, below = ["def f(x):", "    y = 1"], ["    return y", "}"]
    original = ["    y += x", "    y *= 2"]
    # two restated lines above, one below: both dropped
    assert drop_context_echo(["def f(x):", "    y = 1", "    y += 2 * x", "    return y"], above, below, original) \
        == ["    y += 2 * x"]
    # one line equal to the line above, nothing else restated: it may be real code, kept
    assert drop_context_echo(["    y = 1", "    y *= 3"], above, below, original) == ["    y = 1", "    y *= 3"]
    # ... unless the target's own first line follows it
    assert drop_context_echo(["    y = 1", "    y += x", "    y *= 3"], above, below, original) \
        == ["    y += x", "    y *= 3"]
    # a lone closer is no evidence, and nothing is dropped down to an empty answer
    assert drop_context_echo(["x = 1", "}"], [], ["}"], ["x = 0"]) == ["x = 1", "}"]
    assert drop_context_echo(["    y = 1"], above, below, original) == ["    y = 1"]


# -- where the user pointed, followed onto the current text -------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
def test_an_offered_place_follows_its_rows_through_later_edits(encoding: str) -> None:
    from lsp_server.core.text import Encoding
    from lsp_server.engines.actions import Pointed
    from lsp_server.engines.documents import DocumentStore
    from lsp_server.syntax.languages import LanguageRegistry

    store = DocumentStore(LanguageRegistry(), max_parse_bytes=1_000_000)
    text = "def f():\r\n    return '😀'\r\n\r\ndef g(名):\r\n    return 名\r\n"
    doc = store.open("file:///w/a.py", "python", 1, text)
    enc: Encoding = encoding  # type: ignore[assignment]
    buf = doc.syntax.buffer
    at = Pointed((3, 4), (4, 10_000), enc, version=1)  # "g(名):" .. the end of its body's line
    expected = (buf.line_start(3) + 4, buf.line_end(4))
    assert at.bytes_now(doc) == expected
    store.change(doc.uri, 2, [((0, 0), (0, 0), "import os\r\n\r\n")], "utf-16")  # two lines above
    buf = doc.syntax.buffer
    assert at.bytes_now(doc) == (buf.line_start(5) + 4, buf.line_end(6))
    assert Pointed((5, 4), (6, 10_000), enc).bytes_now(doc) == at.bytes_now(doc)  # no version: as it is now
    assert Pointed((9, 0), (2 ** 31 - 1, 0), enc).bytes_now(doc) == (len(buf.data), len(buf.data))  # clamped
    assert Pointed((4, 0), (3, 0), enc).bytes_now(doc) == (buf.line_start(3), buf.line_start(4))  # start first
