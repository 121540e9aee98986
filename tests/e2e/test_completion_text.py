"""The exact text a completion inserts, end to end, for the shapes a chat model answers in.

Each case is a document with the cursor marked ``<|>``, the model's scripted answer (the
stand-in applies whatever stop strings the server sends, as vLLM does) and the text the
server must offer, in Python, TypeScript and Go at least: the model's own fence, a closing
brace the document already has, a tab-indented file, text after the cursor on its line,
and the word being typed repeated by the model. Asked as VS Code asks (inline completion,
UTF-16 positions); the same document is then completed again to check that the cached
answer and the typed-ahead path keep the shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.e2e.conftest import (
    capabilities,
    eventually,
    inline,
    insert,
    open_doc,
    start_client,
    stop_client,
    utf16_len,
)
from tests.standin import Reply, StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

CURSOR = "<|>"
LANGUAGES = {".py": "python", ".ts": "typescript", ".go": "go", ".rs": "rust", ".java": "java", ".c": "c",
             ".js": "javascript"}


@dataclass(frozen=True)
class Shape:
    id: str
    name: str  # file name; its extension picks the language
    text: str  # the document, with CURSOR where the cursor is
    reply: str  # what the model answers
    expected: str  # what must be inserted


def position(text: str) -> tuple[int, int]:
    """(line, UTF-16 character) of the cursor marker."""
    before = text[: text.index(CURSOR)]
    line = before.count("\n")
    return line, utf16_len(before[before.rfind("\n") + 1 :])


# 22: a fenced answer with a language tag, indented for its block
FENCED = [
    Shape("py-fenced", "fence.py", "def total(xs):\n    <|>\n\nprint(total([1]))\n",
          "```python\n    s = 0\n    for x in xs:\n        s += x\n    return s\n```",
          "s = 0\n    for x in xs:\n        s += x\n    return s"),
    Shape("ts-fenced", "fence.ts", "function add(a: number, b: number): number {\n  <|>\n}\n",
          "```typescript\n  const s = a + b;\n  return s;\n```", "const s = a + b;\n  return s;"),
    Shape("go-fenced", "fence.go", "package main\n\nfunc add(a, b int) int {\n\t<|>\n}\n",
          "```go\n\ts := a + b\n\treturn s\n```", "s := a + b\n\treturn s"),
    Shape("py-bare-fence-then-prose", "bare.py", "def f(x):\n    <|>\n",
          "```\n    return x * 2\n```\nThis doubles x.", "return x * 2"),
    Shape("ts-tilde-fence", "tilde.ts", "function f(x: number): number {\n  <|>\n}\n",
          "~~~ts\n  return x * 2;\n~~~", "return x * 2;"),
    Shape("py-fence-never-closed", "cut.py", "def f(xs):\n    <|>\n", "```python\n    n = len(xs)\n    return n",
          "n = len(xs)\n    return n"),
    Shape("py-fence-restates-the-function", "restate.py", "import os\n\n\ndef area(r):\n    <|>\n",
          "```python\ndef area(r):\n    return 3.14 * r * r\n```", "return 3.14 * r * r"),
    Shape("py-end-of-file-no-newline", "eof.py", "def f(xs):\n    <|>", "```python\n    return sorted(xs)\n```",
          "return sorted(xs)"),
    Shape("py-mid-line-fence", "one.py", "def f(a, b):\n    return max(<|>)\n",
          "```python\n    return max(a, b)\n```", "a, b"),
]

# 23: the answer ends with the closing brace (and a fence) the document already has
BRACES = [
    Shape("ts-brace-fence", "brace.ts", "function add(a: number, b: number): number {\n  <|>\n}\n",
          "return a + b;\n}\n```", "return a + b;"),
    Shape("go-brace-fence", "brace.go", "package main\n\nfunc add(a, b int) int {\n\t<|>\n}\n",
          "return a + b\n}\n```", "return a + b"),
    Shape("ts-fenced-function-restated", "restate.ts", "function add(a: number, b: number): number {\n  <|>\n}\n",
          "```typescript\nfunction add(a: number, b: number): number {\n  return a + b;\n}\n```", "return a + b;"),
    Shape("go-fenced-brace", "fbrace.go", "package main\n\nfunc sum(xs []int) int {\n\tt := 0\n\t<|>\n}\n",
          "```go\n\tfor _, x := range xs {\n\t\tt += x\n\t}\n\treturn t\n}\n```",
          "for _, x := range xs {\n\t\tt += x\n\t}\n\treturn t"),
    Shape("java-method-brace", "A.java", "class A {\n    int add(int a, int b) {\n        <|>\n    }\n}\n",
          "return a + b;\n    }\n}\n```", "return a + b;"),
    Shape("rust-brace", "lib.rs", "fn double(x: i32) -> i32 {\n    <|>\n}\n", "x * 2\n}\n```", "x * 2"),
    Shape("js-callback-brace", "cb.js", "app.get('/', (req, res) => {\n  <|>\n});\n",
          "res.send('ok');\n});\n```", "res.send('ok');"),
    Shape("ts-block-between-braces", "blk.ts", "function one(): number {<|>}\n", "\n  return 1;\n}\n```",
          "\n  return 1;\n"),
    Shape("py-block-end-then-fence", "blk.py", "def f(x):\n    if x:\n        <|>\n    return 0\n",
          "return 1\n    return 0\n```", "return 1"),
]

# 24: a tab-indented file gets tabs, whatever the model used
TABS = [
    Shape("go-four-spaces", "tabs.go", "package main\n\nfunc clamp(x int) int {\n\t<|>\n}\n",
          "if x < 0 {\n        return 0\n    }\n    return x\n}\n```", "if x < 0 {\n\t\treturn 0\n\t}\n\treturn x"),
    Shape("go-two-spaces-fenced", "tabs2.go",
          "package main\n\nfunc clamp(x int) int {\n\tif x > 9 {\n\t\treturn 9\n\t}\n\t<|>\n}\n",
          "```go\n  if x < 0 {\n    return 0\n  }\n  return x\n}\n```", "if x < 0 {\n\t\treturn 0\n\t}\n\treturn x"),
    Shape("ts-tabs", "tabs.ts", "class A {\n\tm(x: number): number {\n\t\t<|>\n\t}\n}\n",
          "if (x < 0) {\n      return 0;\n    }\n    return x;\n  }\n}", "if (x < 0) {\n\t\t\treturn 0;\n\t\t}\n\t\treturn x;"),
    Shape("py-tabs", "tabs.py", "def total(xs):\n\ts = 0\n\t<|>\n",
          "for x in xs:\n        s += x\n    return s", "for x in xs:\n\t\ts += x\n\treturn s"),
    Shape("c-tabs", "tabs.c", "int sign(int x) {\n\t<|>\n}\n", "if (x < 0) {\n    return -1;\n}\nreturn 1;\n}",
          "if (x < 0) {\n\t\treturn -1;\n\t}\n\treturn 1;"),
    Shape("go-cursor-at-column-zero", "col0.go", "package main\n\nfunc f(x int) int {\n<|>\n}\n",
          "    y := x * 2\n    return y\n}", "\ty := x * 2\n\treturn y"),
    Shape("py-cursor-at-column-zero-fenced", "col0.py", "def f(xs):\n<|>\n",
          "```python\n    total = sum(xs)\n    return total\n```", "    total = sum(xs)\n    return total"),
    Shape("go-crlf-tabs", "crlf.go", "package main\r\n\r\nfunc f(x int) int {\r\n\t<|>\r\n}\r\n",
          "y := x * 2\n    return y\n}", "y := x * 2\r\n\treturn y"),
]

# 25: text after the cursor on its line: the completion ends on that line and merges with it
MIDLINE = [
    Shape("py-call", "mid.py", "def f():\n    x = compute(<|>)\n    return x\n", "1, 2)\n    y = 3\n", "1, 2"),
    Shape("py-past-the-closer", "mid2.py", "x = compute(<|>)\n", "1, 2) + 3\n", "1, 2"),
    Shape("ts-call", "mid.ts", "const x = compute(<|>);\n", "1, 2);\nconst y = 3;\n", "1, 2"),
    Shape("go-string", "mid.go", 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("<|>")\n}\n',
          'hi")\n\tfmt.Println("x")\n', "hi"),
    Shape("go-args", "args.go", "package main\n\nfunc main() {\n\tx := max(<|>)\n\t_ = x\n}\n",
          "1, 2)\n\t_ = x\n}", "1, 2"),
    Shape("rust-vec", "mid.rs", "fn main() {\n    let v = vec![<|>];\n}\n", "1, 2, 3];\n    println!(\"{}\", v.len());\n",
          "1, 2, 3"),
    Shape("java-nested", "Mid.java", "class M {\n    int f(java.util.Map<String, Integer> m) {\n"
          "        return Math.abs(m.get(<|>));\n    }\n}\n", "\"k\"));\n        }\n", "\"k\""),
    Shape("c-printf", "mid.c", "#include <stdio.h>\nint main(void) {\n    printf(\"%d\\n\", <|>);\n}\n",
          "42);\n    return 0;\n", "42"),
    Shape("py-only-the-suffix", "same.py", "print(x<|>)\n", ")", ""),
]

# 26 (inline side): the word being typed, repeated by the model
WORDS = [
    Shape("py-word", "word.py", "import math\n\ndef area(radius):\n    return math.pi * rad<|>\n",
          "radius ** 2", "ius ** 2"),
    Shape("ts-word", "word.ts", "function f(items: number[]) {\n  return ite<|>\n}\n", "items.length;\n}",
          "ms.length;"),
    Shape("go-word", "word.go", "package main\n\nfunc f(count int) int {\n\treturn cou<|>\n}\n", "count + 1\n}",
          "nt + 1"),
]

ALL = FENCED + BRACES + TABS + MIDLINE + WORDS


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("shapes")
    client, _ = await start_client(
        standin, root / ".cache", capabilities("visual-studio-code@v1.65.2", inline=True), root=root
    )
    yield client, root
    await stop_client(client)


async def _complete(client: LanguageClient, standin: StandIn, root: Path, shape: Shape) -> list[str]:
    uri = (root / shape.name).as_uri()
    open_doc(client, uri, shape.text.replace(CURSOR, ""), LANGUAGES[Path(shape.name).suffix])
    standin.script(Reply(text=shape.reply))
    line, character = position(shape.text)
    return await inline(client, uri, line, character)


@pytest.mark.parametrize("shape", ALL, ids=[s.id for s in ALL])
async def test_inserted_text(session, standin: StandIn, shape: Shape) -> None:
    client, root = session
    texts = await _complete(client, standin, root, shape)
    assert texts == ([shape.expected] if shape.expected else [])
    body = standin.chat_requests()[-1].body
    assert "stop" not in body  # the cleaner stops the stream: a "```" stop would cut the model's own fence


async def test_typed_ahead_keeps_following_the_word(session, standin: StandIn) -> None:
    client, root = session
    shape = Shape("ahead", "ahead.py", "def area(radius):\n    return 3.14 * rad<|>\n", "radius * radius", "")
    assert await _complete(client, standin, root, shape) == ["ius * radius"]
    calls = len(standin.chat_requests())
    uri = (root / shape.name).as_uri()
    insert(client, uri, 2, 1, len("    return 3.14 * rad"), "iu")
    assert await inline(client, uri, 1, len("    return 3.14 * radiu")) == ["s * radius"]
    assert len(standin.chat_requests()) == calls


async def test_completion_item_fallback_in_utf16(session, standin: StandIn) -> None:
    """The classic completion item, asked with UTF-16 positions: it replaces the typed word
    (after an emoji, two UTF-16 units) with the word once plus the rest of the answer."""
    client, root = session
    line = '    msg = "😀" + grö'
    uri = (root / "utf16.py").as_uri()
    open_doc(client, uri, f"def f(größe):\n{line}\n", "python")
    standin.script(Reply(text="größe * 2"))
    end = utf16_len(line)
    result = await client.text_document_completion_async(
        types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=1, character=end),
            context=types.CompletionContext(trigger_kind=types.CompletionTriggerKind.Invoked),
        )
    )
    [item] = result.items
    assert item.text_edit.new_text == "größe * 2"
    assert item.text_edit.range == types.Range(
        start=types.Position(line=1, character=end - 3), end=types.Position(line=1, character=end)
    )
    assert item.filter_text.startswith("grö")


@pytest.mark.parametrize(
    ("name", "text", "reply", "expected"),
    [
        ("stopfence.py", "def f():\n    <|>\n", "```python\n    return 1\n```\n" + "This returns one. " * 300, "return 1"),
        ("stopline.ts", "const x = compute(<|>);\n", "1, 2);\n" + "const y = 3;\n" * 300, "1, 2"),
        ("stopblock.go", "package main\n\nfunc f() int {\n\t<|>\n}\n", "return 1\n}\n" + "func g() {}\n" * 300,
         "return 1"),
    ],
    ids=["closing-fence", "line-end", "block-end"],
)
async def test_the_cleaner_closes_the_stream_early(
    session, standin: StandIn, name: str, text: str, reply: str, expected: str
) -> None:
    """With no stop strings sent, the streaming cleaner is what ends the generation."""
    client, root = session
    uri = (root / name).as_uri()
    open_doc(client, uri, text.replace(CURSOR, ""), LANGUAGES[Path(name).suffix])
    standin.script(Reply(text=reply, chunk_delay=0.002))
    line, character = position(text)
    assert await inline(client, uri, line, character) == [expected]

    def record():  # (the stand-in hands out snapshots: ask again each time)
        [found] = [r for r in standin.chat_requests() if name in str(r.body)]
        return found

    assert await eventually(lambda: record().ended_at is not None)
    assert not record().completed  # closed long before the 300 lines were sent
