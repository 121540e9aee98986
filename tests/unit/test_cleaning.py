"""Completion cleaning: fences and prose, echoes, suffix overlap, block ends, repetition.

Every table case is checked three ways: ``clean_completion`` on the whole raw text,
a ``StreamCleaner`` fed one character at a time (result and stop reason), and one
fed random-sized chunks. Raw texts are the kinds of output Mistral-Small produces
when continuing a prefilled assistant message.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import pytest

from lsp_server.model import cleaning
from lsp_server.model.cleaning import CleanContext, StreamCleaner, clean_completion


@dataclass(frozen=True)
class Case:
    id: str
    raw: str
    expected: str
    stop: str | None = None  # StreamCleaner's stop_reason when fed one character at a time
    prefix: str = ""
    suffix: str = ""
    following: tuple[str, ...] = ()
    multiline: bool = True
    unit: str = "    "
    brace: bool = False
    eol: str = "\n"
    max_lines: int = 40
    preceding: tuple[str, ...] = ()

    def ctx(self) -> CleanContext:
        return CleanContext(
            line_prefix=self.prefix,
            line_suffix=self.suffix,
            following_lines=self.following,
            multiline=self.multiline,
            indent_unit=self.unit,
            brace_language=self.brace,
            eol=self.eol,
            max_lines=self.max_lines,
            preceding_lines=self.preceding,
        )


def _stream(raw: str, ctx: CleanContext, sizes: random.Random | None = None) -> StreamCleaner:
    cleaner = StreamCleaner(ctx)
    i = 0
    while i < len(raw):
        step = sizes.randint(1, 6) if sizes else 1
        if cleaner.feed(raw[i : i + step]):
            break
        i += step
    return cleaner


def _check(case: Case) -> None:
    ctx = case.ctx()
    assert clean_completion(case.raw, ctx) == case.expected
    streamed = _stream(case.raw, ctx)
    assert streamed.result() == case.expected
    assert streamed.stop_reason == case.stop


def _ids(cases: list[Case]) -> list[str]:
    return [c.id for c in cases]


# ---------------------------------------------------------------- 1. fences and prose

FENCES = [
    Case(
        "preamble-then-fenced-python",
        "Here is the completion:\n```python\n    total += x\n    return total\n```\nThis adds x to the total.",
        "total += x\n    return total",
        "fence",
        prefix="    ",
    ),
    Case(
        "sure-blank-fence-js-rebased",
        "Sure!\n\n```javascript\nconst doubled = x * 2;\nreturn doubled;\n```",
        "const doubled = x * 2;\n  return doubled;",
        "fence",
        prefix="  ",
        unit="  ",
        brace=True,
    ),
    Case(
        "lone-opening-fence-go",
        "```go\nfmt.Println(x)\n",
        "fmt.Println(x)",
        None,
        prefix="\t",
        unit="\t",
        brace=True,
    ),
    Case(
        "closing-fence-after-prefilled-code",
        "a + b\n```\n\nThis returns the sum of a and b.",
        "a + b",
        "fence",
        prefix="    return ",
    ),
    Case("bare-fence-right-away-means-nothing", "```\n", "", "fence", prefix="    x = 1"),
    Case("no-prefill-bare-fence-opens", "```\nimport os\n```\n", "import os", "fence"),
    Case(
        "closing-fence-stops-mid-line",
        "x = 1\n    y = 2\n```",
        "x = 1\n    y = 2",
        "fence",
        prefix="    ",
    ),
    Case(
        "trailing-this-paragraph",
        "\n    return a + b\n\nThis function adds two numbers and returns the result.\n",
        "\n    return a + b",
        "block-end",
        prefix="def add(a, b):",
    ),
    Case(
        "trailing-note-rust",
        "vec![1, 2, 3];\n    v.len()\n\nNote: `v.len()` is the number of elements.\nIt is O(1).",
        "vec![1, 2, 3];\n    v.len()",
        "block-end",
        prefix="    let v = ",
        brace=True,
    ),
    Case(
        "trailing-explanation-label-go",
        "x := compute()\n\treturn x\n\nExplanation:\nThe function computes x.",
        "x := compute()\n\treturn x",
        "block-end",
        prefix="\t",
        unit="\t",
        brace=True,
    ),
    Case(
        "single-line-preamble-then-fence",
        "Sure! Here's the code:\n```python\nitems.append(x)\n```",
        "items.append(x)",
        "line-end",
        prefix="    ",
        multiline=False,
    ),
    Case(
        "crlf-fence",
        "```rust\r\nlet n = 1;\r\nn + 1\r\n```\r\n",
        "let n = 1;\n    n + 1",
        "fence",
        prefix="    ",
        brace=True,
    ),
    Case(
        "docstring-prose-is-kept",
        'Return the sum of a and b.\n\n    This function never raises.\n    """\n    return a + b',
        'Return the sum of a and b.\n\n    This function never raises.\n    """\n    return a + b',
        None,
        prefix='    """',
    ),
    Case(
        "comment-prose-is-kept",
        "Here we retry once\n    retry()",
        "Here we retry once\n    retry()",
        None,
        prefix="    # ",
    ),
    Case(
        "annotated-variable-is-not-a-label",
        "x = 1\n\noutput: list[int] = []\n",
        "x = 1\n\noutput: list[int] = []",
    ),
    Case(
        "fence-restates-earlier-lines",
        "```python\ndef add(a, b):\n    return a + b\n```",
        "a + b",
        "fence",
        prefix="    return ",
    ),
    Case(
        "prose-paragraphs-before-fence",
        "Sure!\n\nThe completed function is:\n```python\nreturn a + b\n```",
        "return a + b",
        "fence",
        prefix="    ",
    ),
    Case(
        "comment-preamble-then-code-then-bare-fence",
        "Here is the trick:\n    x = 1\n```\n",
        "Here is the trick:\n    x = 1",
        "fence",
        prefix="    # ",
    ),
]


@pytest.mark.parametrize("case", FENCES, ids=_ids(FENCES))
def test_fences_and_prose(case: Case) -> None:
    _check(case)


# ---------------------------------------------------------------- 2. echoed prefix

ECHOES = [
    Case(
        "full-prefix",
        "    result = compute(data, 3)",
        "data, 3)",
        prefix="    result = compute(",
        multiline=False,
    ),
    Case(
        "stripped-prefix",
        "result = compute(data, 3)",
        "data, 3)",
        prefix="    result = compute(",
        multiline=False,
    ),
    Case(
        "line-restarted-after-newline",
        "\n    if user:\n        greet(user)\n",
        "\n        greet(user)",
        prefix="    if user:",
    ),
    Case(
        "js-stripped-echo",
        "const total = items.reduce((a, b) => a + b, 0);",
        "(a, b) => a + b, 0);",
        prefix="  const total = items.reduce(",
        unit="  ",
        brace=True,
        multiline=False,
    ),
    Case(
        "go-echo-of-block-opener",
        "\tif err != nil {\n\t\treturn err\n\t}\n\treturn nil\n}",
        "\n\t\treturn err\n\t}",
        "block-end",
        prefix="\tif err != nil {",
        following=("", "\treturn nil", "}"),
        unit="\t",
        brace=True,
    ),
    Case("partial-word-echo", "    return x", "rn x", prefix="    retu", multiline=False),
    Case("empty-prefix-keeps-similar-text", "import os\nimport sys", "import os\nimport sys"),
    Case("whitespace-prefix-drops-doubled-indent", "    return x", "return x", prefix="    "),
    Case("tab-prefix-drops-doubled-indent", "\treturn x", "return x", prefix="\t", unit="\t", brace=True),
    Case("one-char-prefix-is-not-an-echo", "[1, 2], [3, 4]]", "[1, 2], [3, 4]]", prefix="[", multiline=False),
    Case("space-after-prefill-space", " 42", "42", prefix="x = ", multiline=False),
    Case("no-echo-untouched", "len(items) > 0:", "len(items) > 0:", prefix="    if ", multiline=False),
    Case(
        "previous-line-then-cursor-line-restated",
        "\n        for x in xs:\n        total = 0\n        for x in xs:\n            total += x\n",
        "0\n        for x in xs:\n            total += x",
        prefix="        total = ",
    ),
]


@pytest.mark.parametrize("case", ECHOES, ids=_ids(ECHOES))
def test_echoed_prefix(case: Case) -> None:
    _check(case)


# ---------------------------------------------------------------- 3. suffix overlap

SUFFIXES = [
    Case("paren", "a, b)", "a, b", prefix="    foo(", suffix=")", multiline=False),
    Case("paren-colon", "x > 0):", "x > 0", prefix="    if check(", suffix="):", multiline=False),
    Case("bracket", "0]", "0", prefix="    first = items[", suffix="]", multiline=False),
    Case("quote-paren", 'world")', "world", prefix='    print("hello ', suffix='")', multiline=False),
    Case("balanced-call-is-kept", "foo(x)", "foo(x)", prefix="print(", suffix=")", multiline=False),
    Case("semicolon-js", "42;", "42", prefix="let x = ", suffix=";", brace=True, multiline=False),
    Case("rest-of-args", "a, b)", "a", prefix="f(", suffix=", b)", multiline=False),
    Case("word-tail-is-not-overlap", "items", "items", prefix="x = ", suffix="s", multiline=False),
    Case(
        "rust-vec",
        "1, 2, 3];",
        "1, 2, 3",
        prefix="    let v = vec![",
        suffix="];",
        brace=True,
        multiline=False,
    ),
    Case("model-rewrote-suffix", "x)", "", prefix="foo(", suffix="x)", multiline=False),
    Case("keeps-space-before-word", "x, ", "x, ", prefix="f(a, ", suffix="b)", multiline=False),
    Case(
        "bracket-kinds",
        "items) {",
        "items",
        prefix="  for (const x of ",
        suffix=") {",
        brace=True,
        multiline=False,
    ),
    Case(
        "bracket-kinds-then-next-line",
        "items) {\n    console.log(x);\n",
        "items",
        "line-end",
        prefix="  for (const x of ",
        suffix=") {",
        brace=True,
        multiline=False,
    ),
    Case(
        "next-line-already-there",
        "total = sum(xs)\n    return total\n",
        "total = sum(xs)",
        "block-end",
        prefix="    ",
        following=("    return total", ""),
    ),
    Case(
        "closing-brace-already-there",
        "console.log(x);\n}\n",
        "console.log(x);",
        "block-end",
        prefix="  ",
        following=("}",),
        unit="  ",
        brace=True,
    ),
    Case(
        "trailing-trivial-line-repeats-following",
        "x = 1\n    pass",
        "x = 1",
        None,
        prefix="    ",
        following=("    pass",),
    ),
    Case(
        "multiline-last-line-overlap",
        "\n    a,\n    b,\n)",
        "\n    a,\n    b,\n",  # the ")" after the cursor goes on a line of its own
        None,
        prefix="call(",
        suffix=")",
    ),
]


@pytest.mark.parametrize("case", SUFFIXES, ids=_ids(SUFFIXES))
def test_suffix_overlap(case: Case) -> None:
    _check(case)


# ---------------------------------------------------------------- 4. block end

BLOCKS = [
    Case("py-dedent", "x = 1\n    y = 2\nprint(x)\n", "x = 1\n    y = 2", "block-end", prefix="    "),
    Case(
        "py-nested-block-then-rest-of-enclosing-block",
        "for x in xs:\n        s += x\n    return s\n\ndef other():\n    pass\n",
        "for x in xs:\n        s += x\n    return s",
        "block-end",
        prefix="    ",
    ),
    Case(
        "py-opener-body-then-base",
        "\n    return 3.14 * r * r\n\nprint(area(2))\n",
        "\n    return 3.14 * r * r",
        "block-end",
        prefix="def area(r):",
    ),
    Case(
        "py-else-continues-the-block",
        "\n        sign = 1\n    else:\n        sign = -1\n    return sign\n",
        "\n        sign = 1\n    else:\n        sign = -1",
        "block-end",
        prefix="    if x > 0:",
    ),
    Case(
        "py-two-blank-lines-then-top-level",
        "\nimport sys\n\n\ndef main():\n    pass\n",
        "\nimport sys",
        "block-end",
        prefix="import os",
    ),
    Case(
        "py-nested-lines-kept",
        "\n        if item:\n            count += 1\n    return count\n",
        "\n        if item:\n            count += 1",
        "block-end",
        prefix="    for item in items:",
    ),
    Case(
        "py-return-then-dedent", "return x\ndef other():\n    pass\n", "return x", "block-end", prefix="    "
    ),
    Case(
        "js-closer-missing-is-kept",
        "\n  return a + b;\n}\n\nfunction sub(a, b) {\n",
        "\n  return a + b;\n}",
        "block-end",
        prefix="function add(a, b) {",
        unit="  ",
        brace=True,
    ),
    Case(
        "js-closer-present-is-cut",
        "\n  return a + b;\n}\n\nfunction sub(a, b) {\n",
        "\n  return a + b;",
        "block-end",
        prefix="function add(a, b) {",
        following=("}",),
        unit="  ",
        brace=True,
    ),
    Case(
        "js-closer-in-suffix",
        "\n  return 1;\n}",
        "\n  return 1;\n",
        None,
        prefix="function one() {",
        suffix="}",
        unit="  ",
        brace=True,
    ),
    Case(
        "go-inner-loop-closer-kept",
        "\n\t\ttotal += v\n\t}\n\treturn total\n}\n",
        "\n\t\ttotal += v\n\t}",
        "block-end",
        prefix="\tfor _, v := range items {",
        following=("\treturn total", "}"),
        unit="\t",
        brace=True,
    ),
    Case(
        "go-body-continues-below",
        "total += v\n}\n",
        "total += v",
        "block-end",
        prefix="\t\t",
        following=("\t\tcount++", "\t}", "\treturn total"),
        unit="\t",
        brace=True,
    ),
    Case(
        "rust-lifetimes-and-brace-in-string",
        '\n    let s = "}";\n    &xs[0]\n}\n\nfn main() {}\n',
        '\n    let s = "}";\n    &xs[0]\n}',
        "block-end",
        prefix="fn first<'a>(xs: &'a [String]) -> &'a str {",
        brace=True,
    ),
    Case(
        "js-else-branch-then-closer",
        "\n    a();\n  } else {\n    b();\n  }\n  c();\n",
        "\n    a();\n  } else {\n    b();\n  }",
        "block-end",
        prefix="  if (ok) {",
        following=("  return;", "}"),
        unit="  ",
        brace=True,
    ),
    Case(
        "brace-in-comment-ignored",
        "a(); // }\n  /* } */ b();\n}\n",
        "a(); // }\n  /* } */ b();\n}",
        "block-end",
        prefix="  ",
        unit="  ",
        brace=True,
    ),
    Case(
        "brace-two-blank-lines",
        "\nconst b = 2;\n\n\nfunction f() {}\n",
        "\nconst b = 2;",
        "block-end",
        prefix="const a = 1;",
        brace=True,
    ),
    Case(
        "max-lines",
        "a = 1\n    b = 2\n    c = 3\n    d = 4\n",
        "a = 1\n    b = 2\n    c = 3",
        "max-lines",
        prefix="    ",
        max_lines=3,
    ),
]


@pytest.mark.parametrize("case", BLOCKS, ids=_ids(BLOCKS))
def test_block_end(case: Case) -> None:
    _check(case)


# ---------------------------------------------------------------- 5. single line

SINGLE = [
    Case("rest-of-line", "a, b)\n    print(x)\n", "a, b)", "line-end", prefix="    foo(", multiline=False),
    Case(
        "newline-mid-line-means-done",
        "\n    y = 2\n",
        "",
        "line-end",
        prefix="    x = compute()",
        multiline=False,
    ),
    Case(
        "blank-lines-skipped-in-indent",
        "\n\nreturn value\nfoo()\n",
        "return value",
        "line-end",
        prefix="    ",
        multiline=False,
    ),
    Case("empty-prefix", "import os\nimport sys\n", "import os", "line-end", multiline=False),
    Case(
        "go-unicode-string",
        '"héllo 😀")\n',
        '"héllo 😀"',
        "line-end",
        prefix="\tfmt.Println(",
        suffix=")",
        unit="\t",
        brace=True,
        multiline=False,
    ),
    Case("no-newline-yet", "x + 1", "x + 1", None, prefix="    return ", multiline=False),
]


@pytest.mark.parametrize("case", SINGLE, ids=_ids(SINGLE))
def test_single_line(case: Case) -> None:
    _check(case)


# ---------------------------------------------------------------- 6. repetition

_LOOP = "abcdefgh-" * 20
REPEATS = [
    Case("same-line", "log(x)\n    log(x)\n    log(x)\n    log(x)\n", "log(x)", "repetition", prefix="    "),
    Case(
        "two-line-cycle",
        "a = f(1)\n    b = g(a)\n    a = f(1)\n    b = g(a)\n    a = f(1)\n    b = g(a)\n    a = f(1)\n",
        "a = f(1)\n    b = g(a)",
        "repetition",
        prefix="    ",
    ),
    Case(
        "three-line-cycle-with-blank-lines",
        "x++;\n  y++;\n  z++;\n\n  x++;\n  y++;\n  z++;\n\n  x++;\n  y++;\n  z++;\n\n",
        "x++;\n  y++;\n  z++;",
        "repetition",
        prefix="  ",
        unit="  ",
        brace=True,
    ),
    Case("looping-phrase", f"'{_LOOP}'\n", "'abcdefgh-", "repetition", prefix="    s = "),
    Case("looping-phrase-unfinished-line", f"'{_LOOP}", "'abcdefgh-", "repetition", prefix="    s = "),
    Case("separator-is-not-a-loop", "# " + "=" * 70, "# " + "=" * 70, prefix="    "),
    Case("zero-row-is-not-a-loop", "[" + "0, " * 30 + "0]", "[" + "0, " * 30 + "0]", prefix="    row = "),
    Case(
        "repeated-trivial-lines-kept",
        "/**\n   *\n   *\n   *\n   * Adds.\n   */",
        "/**\n   *\n   *\n   *\n   * Adds.\n   */",
        None,
        prefix="  ",
        unit="  ",
        brace=True,
    ),
    Case("pass-repeated", "pass\n    pass\n    pass\n", "pass\n    pass\n    pass", None, prefix="    "),
]


@pytest.mark.parametrize("case", REPEATS, ids=_ids(REPEATS))
def test_repetition(case: Case) -> None:
    _check(case)


# ---------------------------------------------------------------- 7. indentation

INDENTS = [
    Case(
        "tabs-to-spaces",
        "if x:\n\t\ty = 1\n\tz = 2\n",
        "if x:\n        y = 1\n    z = 2",
        None,
        prefix="    ",
    ),
    Case(
        "spaces-to-tabs-go",
        "x := 1\n    if x > 0 {\n        return x\n    }\n",
        "x := 1\n\tif x > 0 {\n\t\treturn x\n\t}",
        None,
        prefix="\t",
        unit="\t",
        brace=True,
    ),
    Case(
        "column-zero-continuation-rebased",
        "x = 1\ny = 2\nreturn x + y\n",
        "x = 1\n    y = 2\n    return x + y",
        None,
        prefix="    ",
    ),
    Case(
        "column-zero-after-opener-rebased",
        "for x in xs:\ntotal += x\n",
        "for x in xs:\n            total += x",
        None,
        prefix="        ",
    ),
    Case(
        "fenced-code-at-column-zero-rebased",
        "```python\nfor x in xs:\n    total += x\n```",
        "for x in xs:\n            total += x",
        "fence",
        prefix="        ",
    ),
    Case(
        "two-space-file-untouched",
        "if (a) {\n    b();\n  }",
        "if (a) {\n    b();\n  }",
        None,
        prefix="  ",
        unit="  ",
        brace=True,
    ),
    Case(
        "alignment-spaces-after-tabs-kept",
        "x,\n\t  y)",
        "x,\n\t  y)",
        None,
        prefix="\tcall(",
        unit="\t",
        brace=True,
    ),
]


@pytest.mark.parametrize("case", INDENTS, ids=_ids(INDENTS))
def test_indentation(case: Case) -> None:
    _check(case)


# ---------------------------------------------------------------- 8. line endings and whitespace

ENDINGS = [
    Case("crlf-in-lf-file", "x = 1\r\n    y = 2\r\n", "x = 1\n    y = 2", prefix="    "),
    Case("lf-in-crlf-file", "x = 1\n    y = 2\n", "x = 1\r\n    y = 2", prefix="    ", eol="\r\n"),
    Case("crlf-in-crlf-file", "\r\n    return 1\r\n", "\r\n    return 1", prefix="def one():", eol="\r\n"),
    Case("lone-cr", "x = 1\r    y = 2", "x = 1\n    y = 2", prefix="    "),
    Case("trailing-whitespace", "x = 1   \n    y = 2  \n\n\n   \n", "x = 1\n    y = 2", prefix="    "),
    Case(
        "first-line-indent-not-doubled",
        "        value = 1\n    other = 2",
        "    value = 1\n    other = 2",
        prefix="    ",
    ),
]


@pytest.mark.parametrize("case", ENDINGS, ids=_ids(ENDINGS))
def test_line_endings_and_whitespace(case: Case) -> None:
    _check(case)


# ---------------------------------------------------------------- 9. empty, garbage, non-ASCII

ODDITIES = [
    Case("empty", "", "", prefix="    "),
    Case("whitespace-only", "   \n\n \t \n", "", prefix="    "),
    Case("controls-only", "\x00\x01\x02\x1b", "", prefix="x = "),
    Case("controls-stripped", "fo\x00o(\x07)\x1b", "foo()", prefix="    "),
    Case("bom-and-separators", "\ufeffa\u2028b", "ab", prefix="x = ", multiline=False),
    Case("lone-surrogate", "ok\ud800", "ok", prefix="x = ", multiline=False),
    Case(
        "cjk-and-emoji-string",
        '你好，世界 🎉"\n',
        '你好，世界 🎉"',
        "line-end",
        prefix='    msg = "',
        multiline=False,
    ),
    Case("emoji-overlap", '😀 ok")', "😀 ok", prefix='print("', suffix='")', multiline=False),
    Case(
        "cjk-comment-kept", "计算总和\n    total = sum(xs)", "计算总和\n    total = sum(xs)", prefix="    # "
    ),
]


@pytest.mark.parametrize("case", ODDITIES, ids=_ids(ODDITIES))
def test_empty_garbage_and_unicode(case: Case) -> None:
    _check(case)


# ---------------------------------------------------------------- 10. the model's own fence

FENCED = [
    Case(
        "py-tagged-fence-indented-for-its-block",
        "```python\n    s = 0\n    for x in xs:\n        s += x\n    return s\n```",
        "s = 0\n    for x in xs:\n        s += x\n    return s",
        "fence",
        prefix="    ",
    ),
    Case(
        "ts-tagged-fence-indented-for-its-block",
        "```typescript\n  const s = a + b;\n  return s;\n```",
        "const s = a + b;\n  return s;",
        "fence",
        prefix="  ",
        unit="  ",
        brace=True,
        following=("}",),
    ),
    Case(
        "go-tagged-fence-with-tabs",
        "```go\n\t\tsum += v\n\t}\n```",
        "sum += v",
        "block-end",
        prefix="\t\t",
        unit="\t",
        brace=True,
        following=("\t}", "\treturn sum", "}"),
    ),
    Case(
        "bare-fence-on-a-blank-line-opens-the-code",
        "```\n    return a + b\n```",
        "return a + b",
        "fence",
        prefix="    ",
    ),
    Case("tilde-fence", "~~~python\n    return a + b\n~~~\n", "return a + b", "fence", prefix="    "),
    Case(
        "tilde-fence-keeps-a-backtick-line",
        "~~~markdown\n    ```\n    code\n~~~",
        "```\n    code",
        "fence",
        prefix="    ",
    ),
    Case(
        "fence-then-trailing-prose",
        "```python\n    return a + b\n```\nThis returns the sum of a and b.\n",
        "return a + b",
        "fence",
        prefix="    ",
    ),
    Case(
        "fence-never-closed",
        "```python\n    total += x\n    return total",
        "total += x\n    return total",
        None,
        prefix="    ",
    ),
    Case(
        "preamble-then-tagged-ts-fence",
        "Sure! Here is the code:\n\n```ts\n  return a + b;\n```",
        "return a + b;",
        "fence",
        prefix="  ",
        unit="  ",
        brace=True,
    ),
    Case(
        "crlf-fence-in-crlf-file",
        "```python\r\n    x = 1\r\n    return x\r\n```\r\n",
        "x = 1\r\n    return x",
        "fence",
        prefix="    ",
        eol="\r\n",
    ),
    Case(
        "single-line-fence-echoing-the-line",
        "```python\n    return a + b\n```",
        "a + b",
        "line-end",
        prefix="    return ",
        multiline=False,
    ),
    Case(
        "fence-restates-the-enclosing-function",
        "```python\ndef total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s\n```",
        "s = 0\n    for x in xs:\n        s += x\n    return s",
        "fence",
        prefix="    ",
        preceding=("import os", "", "def total(xs):"),
    ),
    Case(
        "fence-restates-function-then-the-cursor-line",
        "```go\nfunc add(a, b int) int {\n\ts := a + b\n\treturn s\n}\n```",
        "a + b\n\treturn s",
        "block-end",
        prefix="\ts := ",
        unit="\t",
        brace=True,
        following=("}",),
        preceding=("package main", "", "func add(a, b int) int {"),
    ),
    Case(
        "fence-restates-the-line-above",
        "```python\n    s = 0\n    return s\n```",
        "return s",
        "fence",
        prefix="    ",
        preceding=("def f():", "    s = 0"),
    ),
    Case(
        "unfenced-two-line-restatement",
        "def f(x):\n    y = x * 2\n    return y\n",
        "return y",
        None,
        prefix="    ",
        preceding=("def f(x):", "    y = x * 2"),
    ),
    Case(
        "one-line-above-repeated-without-fence-is-kept",
        "y = x * 2\n    return y\n",
        "y = x * 2\n    return y",
        None,
        prefix="    ",
        preceding=("def f(x):", "    y = x * 2"),
    ),
    Case(
        "restatement-that-breaks-off-is-kept",
        "```python\ndef f(x):\n    z = 1\n    return z\n```",
        "def f(x):\n    z = 1\n    return z",
        "fence",
        prefix="",
        preceding=("def f(x):", "    y = x * 2"),
    ),
]


@pytest.mark.parametrize("case", FENCED, ids=_ids(FENCED))
def test_model_fenced_answers(case: Case) -> None:
    _check(case)


# ---------------------------------------------------------------- 11. the closing brace is already there

BRACES = [
    Case(
        "ts-body-then-closer-and-fence",
        "return a + b;\n}\n```",
        "return a + b;",
        "block-end",
        prefix="  ",
        unit="  ",
        brace=True,
        following=("}",),
    ),
    Case(
        "go-fenced-body-closer-fence",
        "```go\n\treturn a + b\n}\n```",
        "return a + b",
        "block-end",
        prefix="\t",
        unit="\t",
        brace=True,
        following=("}",),
    ),
    Case(
        "java-method-closer-then-class-closer",
        "return a + b;\n    }\n}\n```",
        "return a + b;",
        "block-end",
        prefix="        ",
        brace=True,
        following=("    }", "}"),
    ),
    Case(
        "rust-closer-glued-to-fence",
        "x * 2\n}```",
        "x * 2",
        None,  # the stream ended inside that last line
        prefix="    ",
        brace=True,
        following=("}",),
    ),
    Case(
        "c-opener-line-body-closer",
        "\n    return 0;\n}\n```",
        "\n    return 0;",
        "block-end",
        prefix="int main(void) {",
        brace=True,
        following=("}",),
    ),
    Case(
        "js-callback-closer",
        "res.send(x);\n});\n```",
        "res.send(x);",
        "block-end",
        prefix="  ",
        unit="  ",
        brace=True,
        following=("});",),
    ),
    Case(
        "only-the-closer-means-nothing",
        "}\n```",
        "",
        "block-end",
        prefix="  ",
        unit="  ",
        brace=True,
        following=("}",),
    ),
    Case(
        "fence-restating-the-function-ending-in-its-closer",
        "```typescript\nfunction add(a: number, b: number): number {\n  const s = a + b;\n  return s;\n}\n```",
        "const s = a + b;\n  return s;",
        "block-end",
        prefix="  ",
        unit="  ",
        brace=True,
        following=("}",),
        preceding=("function add(a: number, b: number): number {",),
    ),
    Case(
        "block-body-between-auto-closed-braces",
        "\n  return 1;\n}\n```",
        "\n  return 1;\n",
        "block-end",
        prefix="function one() {",
        suffix="}",
        unit="  ",
        brace=True,
    ),
    Case(
        "block-body-between-braces-in-a-tab-file",
        "\n\t\treturn err\n\t}",
        "\n\t\treturn err\n\t",
        None,
        prefix="\tif err != nil {",
        suffix="}",
        unit="\t",
        brace=True,
    ),
]


@pytest.mark.parametrize("case", BRACES, ids=_ids(BRACES))
def test_closing_brace_already_there(case: Case) -> None:
    _check(case)


# ---------------------------------------------------------------- 12. the file's indentation, whatever the model used

TABS = [
    Case(
        "go-two-space-model",
        "if x > 0 {\n    return x\n  }\n  return 0",
        "if x > 0 {\n\t\treturn x\n\t}\n\treturn 0",
        None,
        prefix="\t",
        unit="\t",
        brace=True,
    ),
    Case(
        "go-eight-space-model",
        "x := 1\n        if x > 0 {\n                return x\n        }",
        "x := 1\n\tif x > 0 {\n\t\treturn x\n\t}",
        None,
        prefix="\t",
        unit="\t",
        brace=True,
    ),
    Case(
        "go-fenced-at-column-zero-four-spaces",
        "```go\nx := 1\nif x > 0 {\n    return x\n}\n```",
        "x := 1\n\tif x > 0 {\n\t\treturn x\n\t}",
        "fence",
        prefix="\t",
        unit="\t",
        brace=True,
    ),
    Case(
        "go-fenced-two-space-block",
        "```go\n  s := a + b\n  if s > 0 {\n    return s\n  }\n  return 0\n}\n```",
        "s := a + b\n\tif s > 0 {\n\t\treturn s\n\t}\n\treturn 0",
        "block-end",
        prefix="\t",
        unit="\t",
        brace=True,
        following=("}",),
    ),
    Case(
        "python-in-a-tab-file",
        "for x in xs:\n        total += x\n    return total",
        "for x in xs:\n\t\ttotal += x\n\treturn total",
        None,
        prefix="\t",
        unit="\t",
    ),
    Case(
        "ts-tab-file-two-levels-deep",
        "if (ok) {\n      done();\n    }",
        "if (ok) {\n\t\t\tdone();\n\t\t}",
        None,
        prefix="\t\t",
        unit="\t",
        brace=True,
    ),
    Case(
        "python-two-space-model-in-four-space-file",
        "for x in xs:\n      if x:\n        total += x\n    return total",
        "for x in xs:\n        if x:\n            total += x\n    return total",
        None,
        prefix="    ",
    ),
    Case(
        "ts-four-space-model-in-two-space-file",
        "if (a) {\n      if (b) {\n          c();\n      }\n  }",
        "if (a) {\n    if (b) {\n      c();\n    }\n  }",
        None,
        prefix="  ",
        unit="  ",
        brace=True,
    ),
    Case(
        "continuation-indent-in-two-space-file-kept",
        "String s = call(a,\n      b);",
        "String s = call(a,\n      b);",
        None,
        prefix="  ",
        unit="  ",
        brace=True,
    ),
    Case(
        "c-block-written-from-column-zero",
        "if (x < 0) {\n    return -1;\n}\nreturn 1;",
        "if (x < 0) {\n\t\treturn -1;\n\t}\n\treturn 1;",
        None,
        prefix="\t",
        unit="\t",
        brace=True,
    ),
    Case(
        "py-body-under-its-header",
        "if x:\n    print(x)\nreturn\n",
        "if x:\n            print(x)\n        return",  # the model's column 0 is the cursor's block
        None,
        prefix="        ",
    ),
    Case(
        "py-body-at-its-header-level",
        "if x:\n        print(x)\n        y = 1\n",
        "if x:\n            print(x)\n            y = 1",
        None,
        prefix="        ",
    ),
    Case(
        "py-statement-then-everything-deeper",
        "x = 1\n        y = 2\n        return x + y\n",
        "x = 1\n    y = 2\n    return x + y",
        None,
        prefix="    ",
    ),
    Case(
        "py-open-bracket-then-deeper-is-kept",
        "x = f(\n        1,\n    )",
        "x = f(\n        1,\n    )",
        None,
        prefix="    ",
    ),
    Case(
        "go-column-zero-cursor-four-space-model",
        "    x := 1\n    return x\n}\n",
        "\tx := 1\n\treturn x",
        "block-end",
        unit="\t",
        brace=True,
        following=("}",),
    ),
    Case(
        "go-column-zero-cursor-fenced-two-space-model",
        "```go\n  if x {\n    return 1\n  }\n```",
        "\tif x {\n\t\treturn 1\n\t}",
        "fence",
        unit="\t",
        brace=True,
    ),
    Case(
        "py-column-zero-cursor-fenced-block-keeps-its-indentation",
        "```python\n    total = sum(xs)\n    return total\n```",
        "    total = sum(xs)\n    return total",
        "fence",
        preceding=("def f(xs):",),
    ),
    Case(
        "crlf-tab-file",
        "x := 1\r\n    return x\r\n",
        "x := 1\r\n\treturn x",
        None,
        prefix="\t",
        unit="\t",
        brace=True,
        eol="\r\n",
    ),
]


@pytest.mark.parametrize("case", TABS, ids=_ids(TABS))
def test_indentation_follows_the_file(case: Case) -> None:
    _check(case)


# ---------------------------------------------------------------- 13. text after the cursor on its line

MIDLINE = [
    Case("py-call-then-next-lines", "1, 2)\ny = 3\n", "1, 2", "line-end", prefix="x = compute(", suffix=")",
         multiline=False),
    Case("py-past-the-closer", "1, 2) + 3", "1, 2", None, prefix="x = compute(", suffix=")", multiline=False),
    Case("ts-call-semicolon", "1, 2);\nconst y = 3;\n", "1, 2", "line-end", prefix="const x = compute(",
         suffix=");", brace=True, multiline=False),
    Case("go-string-then-more", 'hello") // greet\n', "hello", "line-end", prefix='\tfmt.Println("', suffix='")',
         unit="\t", brace=True, multiline=False),
    Case("rust-vec-next-line", "1, 2, 3];\n    v.len()\n", "1, 2, 3", "line-end", prefix="    let v = vec![",
         suffix="];", brace=True, multiline=False),
    Case("java-nested-kinds", "key)) + 1;", "key", None, prefix="    list.add(map.get(", suffix="));", brace=True,
         multiline=False),
    Case("c-printf", "n);\n    return 0;\n", "n", "line-end", prefix='    printf("%d\\n", ', suffix=");", brace=True,
         multiline=False),
    Case("go-struct-literal", "X: 1, Y: 2}\n\tfmt.Println(p)", "X: 1, Y: 2", "line-end", prefix="\tp := Point{",
         suffix="}", unit="\t", brace=True, multiline=False),
    Case("only-the-suffix-again", ")", "", None, prefix="foo(", suffix=")", multiline=False),
    Case("quote-single", "abc' + x", "abc", None, prefix="s = '", suffix="'", multiline=False),
    Case("escaped-quote-inside", 'say \\"hi\\"" + x', 'say \\"hi\\"', None, prefix='s = "', suffix='"',
         multiline=False),
    Case("cjk-string", '你好" + name', "你好", None, prefix='msg = "', suffix='"', multiline=False),
    Case("own-call-closer-is-not-the-suffix", "foo(x)\nbar()", "foo(x)", "line-end", prefix="print(",
         suffix=")", multiline=False),
    Case("template-literal", "${name}!`;", "${name}!", None, prefix="  const s = `hi ", suffix="`;",
         unit="  ", brace=True, multiline=False),
]


@pytest.mark.parametrize("case", MIDLINE, ids=_ids(MIDLINE))
def test_mid_line_ends_on_the_line(case: Case) -> None:
    _check(case)


# ---------------------------------------------------------------- 14. the word being typed, echoed

WORDS = [
    Case("word-then-more", "radius ** 2", "ius ** 2", prefix="    return math.pi * rad", multiline=False),
    Case("line-tail-then-more", "math.pi * radius ** 2", "ius ** 2", prefix="    return math.pi * rad",
         multiline=False),
    Case("whole-word-again", "rad ** 2", " ** 2", prefix="    return math.pi * rad", multiline=False),
    Case("dollar-word", "$root.find('a');", "ot.find('a');", prefix="  const el = $ro", unit="  ", brace=True,
         multiline=False),
    Case("underscore-digits", "my_var_2 + 1", "r_2 + 1", prefix="x = my_va", multiline=False),
    Case("non-ascii-word", "größe * 2", "ße * 2", prefix="    fläche = grö", multiline=False),
    Case("inside-a-string", 'hello world")', 'ld")', prefix='    print("hello wor', multiline=False),
    Case("after-a-dot", "pi * radius", "ius", prefix="    return math.pi * rad", multiline=False),
    Case("digits-inside-the-word", "ab2c + 1", "c + 1", prefix="    return ab2", multiline=False),
    Case("cjk-word", "変数名 + 1", "名 + 1", prefix="    値 = 変数", multiline=False),
    Case("one-letter-word-then-more", "self.x = 1", "elf.x = 1", prefix="    s", multiline=False),
    Case("one-letter-whole-word-is-not-an-echo", "a + b", "a + b", prefix="x = a", multiline=False),
    Case("number-is-not-a-word", "10", "10", prefix="x = 1", multiline=False),
    Case("different-word-untouched", "ius ** 2", "ius ** 2", prefix="    return math.pi * rad", multiline=False),
    Case("go-word-echo-multiline-block", "Println(msg)\n\treturn", "ntln(msg)\n\treturn", prefix="\tfmt.Pri",
         unit="\t", brace=True),
]


@pytest.mark.parametrize("case", WORDS, ids=_ids(WORDS))
def test_typed_word_echo(case: Case) -> None:
    _check(case)


# ---------------------------------------------------------------- streaming

ALL = (
    FENCES + ECHOES + SUFFIXES + BLOCKS + SINGLE + REPEATS + INDENTS + ENDINGS + ODDITIES
    + FENCED + BRACES + TABS + MIDLINE + WORDS
)


@pytest.mark.parametrize("case", ALL, ids=_ids(ALL))
def test_stream_in_random_chunks_agrees(case: Case) -> None:
    for seed in range(3):
        streamed = _stream(case.raw, case.ctx(), random.Random(seed))
        assert streamed.result() == case.expected
        assert streamed.stop_reason == case.stop


def test_feed_after_stop_is_ignored() -> None:
    cleaner = StreamCleaner(Case("x", "", "", prefix="    foo(", multiline=False).ctx())
    assert cleaner.feed("a, b)") is False and cleaner.stop_reason is None
    assert cleaner.feed("\n    bar()") is True and cleaner.stop_reason == "line-end"
    assert cleaner.feed("more text\n") is True
    assert cleaner.result() == "a, b)"


def test_result_is_the_batch_clean_of_what_was_fed() -> None:
    ctx = Case("x", "", "", prefix="    ").ctx()
    cleaner = StreamCleaner(ctx)
    fed = ""
    for delta in ["x = ", "1\n    y", " = 2\n", "print(", "x)\n"]:
        fed += delta
        stopped = cleaner.feed(delta)
        assert cleaner.result() == clean_completion(fed, ctx)
        if stopped:
            break
    assert cleaner.stop_reason == "block-end" and cleaner.result() == "x = 1\n    y = 2"


def test_feed_pushes_each_line_once(monkeypatch: pytest.MonkeyPatch) -> None:
    pushes: list[str] = []
    original = cleaning.LineMachine.push

    def counting(self: cleaning.LineMachine, line: str) -> bool:
        pushes.append(line)
        return original(self, line)

    monkeypatch.setattr(cleaning.LineMachine, "push", counting)
    raw = "".join(f"    value_{i} = compute({i})\n" for i in range(30))
    cleaner = StreamCleaner(Case("x", "", "", prefix="    ", max_lines=100).ctx())
    for ch in raw:
        cleaner.feed(ch)
    assert len(pushes) == 30


def test_a_long_line_without_a_loop_is_not_cut() -> None:
    ctx = Case("x", "", "", prefix="    x = ").ctx()
    raw = "".join(f"f{i}(" for i in range(4000))  # ~24k characters, no newline, no loop
    cleaner = StreamCleaner(ctx)
    for i in range(0, len(raw), 4):
        cleaner.feed(raw[i : i + 4])
    assert cleaner.stop_reason is None


_GARBAGE = [
    "a",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\r",
    "```",
    "}",
    "{",
    "(",
    ")",
    '"',
    "'",
    "#",
    "//",
    "/*",
    "*/",
    "\x00",
    "\x1b",
    "😀",
    "日",
    "\ud800",
    "\ufeff",
    "    ",
    "return ",
    "x = ",
    "Sure!",
    "\n\n\n",
]


def test_garbage_never_raises_and_stream_agrees() -> None:
    rng = random.Random(1234)
    for _ in range(600):
        raw = "".join(rng.choice(_GARBAGE) for _ in range(rng.randrange(40)))
        ctx = CleanContext(
            line_prefix=rng.choice(["", "    ", "\t", "x = ", "    foo(", "if (a) {", "def f():", "😀"]),
            line_suffix=rng.choice(["", ")", "):", "]", '")', ";", "}"]),
            following_lines=tuple(
                rng.choice(["", "}", "    return x", "\t}"]) for _ in range(rng.randrange(3))
            ),
            multiline=rng.random() < 0.6,
            indent_unit=rng.choice(["    ", "  ", "\t"]),
            brace_language=rng.random() < 0.5,
            eol=rng.choice(["\n", "\r\n"]),
            max_lines=rng.choice([1, 3, 40]),
        )
        out = clean_completion(raw, ctx)
        assert out == "" or out.strip()
        if "\n" in out and ctx.line_suffix.strip():  # the suffix is moved to a line of its own
            assert out.endswith(ctx.eol + ctx.line_prefix[: len(ctx.line_prefix) - len(ctx.line_prefix.lstrip())])
            out_text = out[: out.rindex(ctx.eol)]
        else:
            out_text = out
        assert out_text == out_text.rstrip() or (out.endswith(" ") and ctx.line_suffix.strip())
        assert not any(ord(c) < 32 and c not in "\t\r\n" for c in out)
        assert "\r" not in out.replace("\r\n", "") and "\n" not in out.replace(ctx.eol, "")
        if not ctx.multiline or ctx.max_lines == 1:
            assert "\n" not in out
        streamed = _stream(raw, ctx, random.Random(rng.random()))
        assert streamed.result() == out


def test_a_minified_line_is_scanned_from_its_end_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bracket state at the cursor is read from the last few KB of the cursor line, once
    per completion (a 1 MB line took 30 ms a completion, more at each restart), and the
    answer is cleaned as on the line's tail."""
    from lsp_server.model import codescan, linemachine

    tail = "  const total = compute(values.map((v) => v * 2), "
    long_prefix = "x" * 1_000_000 + ";" + tail
    fed: list[int] = []
    real = codescan.BracketScanner.feed

    def spy(self, text: str, floor: int = 0, clamp: bool = False) -> int:
        fed.append(len(text))
        return real(self, text, floor, clamp)

    monkeypatch.setattr(codescan.BracketScanner, "feed", spy)
    raw = "```js\nlimit)\nconsole.log(total);\n```"
    results = []
    for prefix in (long_prefix, long_prefix[-linemachine.PREFIX_SCAN_CHARS:]):
        ctx = CleanContext(line_prefix=prefix, line_suffix="", following_lines=("}",), multiline=True,
                           indent_unit="  ", brace_language=True, eol="\n", max_lines=8)
        fed.clear()
        results.append(clean_completion(raw, ctx))
        assert max(fed) <= linemachine.PREFIX_SCAN_CHARS + 64  # the prefix, then short lines
    assert results[0] == results[1] and results[0].startswith("limit)")


@pytest.mark.parametrize("filler", ["\t" * 5000, "é" * 5000, "😀" * 5000, "x\u200b" * 3000, "ü\t" * 3000],
                         ids=["tabs", "latin", "astral", "zero-width", "mixed"])
def test_the_bounded_line_scan_reads_tabs_and_non_ascii_as_any_text(filler: str) -> None:
    """The cursor line's last 4 KB are characters, not bytes: tabs, accents, astral-plane
    characters (two UTF-16 units) and zero-width ones before the cursor change nothing."""
    tail = "const total = compute(values.map((v) => v * 2), "
    raw = "```js\nlimit)\nconsole.log(total);\n```"

    def ctx(prefix: str) -> CleanContext:
        return CleanContext(line_prefix=prefix, line_suffix="", following_lines=("}",), multiline=True,
                            indent_unit="\t", brace_language=True, eol="\r\n", max_lines=8)

    long = clean_completion(raw, ctx("\ta" + filler + ";" + tail))  # indented by one tab, as the short one
    short = clean_completion(raw, ctx("\ta;" + tail))
    assert long == short
    assert long.startswith("limit)")
