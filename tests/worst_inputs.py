"""Pathological source texts per grammar, shared by the hardening tests and
``scripts/bench_worst_case.py``.

Each generator takes a size ``n`` and returns text in one supported language: deep
nesting of every kind (unclosed or balanced brackets, braces, blocks, nested literals,
long operator chains), unterminated strings and comments, files that are nothing but
ERROR nodes, one very long line, and big ordinary files.
"""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp")

# Where an expression may start in each language (the text before it) and what ends the file.
_EXPR_HEAD = {
    "python": ("x = ", ""),
    "javascript": ("const x = ", ""),
    "typescript": ("const x: number = ", ""),
    "tsx": ("const x = ", ""),
    "go": ("package p\n\nvar x = ", ""),
    "rust": ("fn main() {\n    let x = ", ""),
    "java": ("class A {\n    int x = ", ""),
    "c": ("int x = ", ""),
    "cpp": ("auto x = ", ""),
}
_LINE_COMMENT = {name: "#" if name == "python" else "//" for name in LANGUAGES}


def unclosed(language: str, n: int, bracket: str = "(") -> str:
    """``x = ((((...`` : ``n`` opening brackets that are never closed."""
    head, _ = _EXPR_HEAD[language]
    return head + bracket * n


def balanced_calls(language: str, n: int) -> str:
    """``f(f(f(...1...)))``: a call nested ``n`` deep (a tree about ``2n`` deep)."""
    head, _ = _EXPR_HEAD[language]
    tail = ";" if language not in ("python", "go") else ""
    close = "\n}\n" if language in ("rust", "java") else "\n"
    return head + "f(" * n + "1" + ")" * n + tail + close


def nested_literal(language: str, n: int) -> str:
    """A JSON-like literal nested ``n`` deep: ``{"a": {"a": ... 1 ...}}`` or ``[[[...]]]``."""
    head, _ = _EXPR_HEAD[language]
    if language in ("python", "javascript", "typescript", "tsx"):
        body = '{"a": ' * n + "1" + "}" * n
    elif language == "go":
        body = "[]any{" * n + "1" + "}" * n
    elif language == "rust":
        body = "[" * n + "1" + "]" * n + ";\n}"
    elif language == "java":
        return "class A {\n    int[] x = " + "{" * n + "1" + "}" * n + ";\n}\n"
    else:
        body = "{" * n + "1" + "}" * n + ";"
    tail = ";" if language in ("javascript", "typescript", "tsx") else ""
    return head + body + tail + "\n"


def operator_chain(language: str, n: int) -> str:
    """``x = 1 + 1 + ... + 1`` with ``n`` terms: a left-deep tree ``n`` levels deep."""
    head, _ = _EXPR_HEAD[language]
    tail = "" if language in ("python", "go") else ";"
    close = "\n}\n" if language in ("rust", "java") else "\n"
    return head + " + ".join(["1"] * n) + tail + close


def nested_blocks(language: str, n: int) -> str:
    """``if`` blocks nested ``n`` deep inside one function (indented, one per line)."""
    if language == "python":
        lines = ["def f(x):"] + ["    " * (i + 1) + "if x:" for i in range(n)] + ["    " * (n + 1) + "pass"]
        return "\n".join(lines) + "\n"
    head = {
        "javascript": "function f(x) {", "typescript": "function f(x: number) {", "tsx": "function f(x) {",
        "go": "package p\n\nfunc f(x bool) {", "rust": "fn f(x: bool) {", "java": "class A {\n  void f(boolean x) {",
        "c": "void f(int x) {", "cpp": "void f(int x) {",
    }[language]
    cond = "if x {" if language in ("go", "rust") else "if (x) {"
    opened = [head] + [" " * (i + 1) + cond for i in range(n)]
    closed = [" " * (i + 1) + "}" for i in reversed(range(n))]
    end = ["}", "}"] if language == "java" else ["}"]
    return "\n".join(opened + closed + end) + "\n"


def unclosed_blocks(language: str, n: int) -> str:
    """``n`` opened blocks (``{`` / ``:``) that are never closed, one per line (indented
    in a saw-tooth: the file stays linear in ``n``)."""
    if language == "python":
        return "def f(x):\n" + "".join("    " * (1 + i % 40) + "if x:\n" for i in range(n))
    cond = "if x {" if language in ("go", "rust") else "if (x) {"
    head = nested_blocks(language, 0).rsplit("}", 1)[0].rstrip()
    if language == "java":
        head = "class A {\n  void f(boolean x) {"
    return head + "\n" + "".join(" " * (i % 40) + cond + "\n" for i in range(n))


def unclosed_string(language: str, n: int) -> str:
    """A string literal opened and never closed, followed by ``n`` lines of code."""
    head, _ = _EXPR_HEAD[language]
    quote = '"""' if language == "python" else ("`" if language in ("javascript", "typescript", "tsx") else '"')
    body = "".join(f"call_{i}(a, b)\n" for i in range(n))
    return head + quote + "\n" + body


def unclosed_comment(language: str, n: int) -> str:
    """A block comment opened and never closed (Python: an unclosed triple-quoted string)."""
    if language == "python":
        return unclosed_string(language, n)
    return "/*\n" + "".join(f"int f_{i}(void) {{ return {i}; }}\n" for i in range(n))


def error_soup(language: str, n: int) -> str:
    """``n`` lines of tokens that form no valid syntax anywhere: an ERROR-only file."""
    junk = (") ] } ; : , ) => :: -> ? @ ] ", "} ) ; ] , ) : ] } ", ") ) ] ] } } ; , ; , ")
    return "".join(junk[i % len(junk)] + "\n" for i in range(n))


def long_line(language: str, size: int) -> str:
    """One line of about ``size`` bytes: a flat list literal with no line break."""
    head, _ = _EXPR_HEAD[language]
    item = "1234567, "
    count = max(1, size // len(item))
    if language == "python":
        body = "[" + item * count + "0]"
    elif language == "go":
        body = "[]int{" + item * count + "0}"
    elif language == "rust":
        return head + "[" + item * count + "0];}\n"
    elif language == "java":
        return head + "{" + item * count + "0};}\n"
    elif language in ("c", "cpp"):
        return "int x[] = {" + item * count + "0};\n"
    else:
        body = "[" + item * count + "0];"
    return head + body + "\n"


_FUNCTION = {
    "python": "def f_{i}(a, b):\n    c = a + b * {i}\n    return c\n\n\n",
    "javascript": "function f_{i}(a, b) {{\n  const c = a + b * {i};\n  return c;\n}}\n\n",
    "typescript": "function f_{i}(a: number, b: number): number {{\n  const c = a + b * {i};\n  return c;\n}}\n\n",
    "tsx": "function f_{i}(a: number, b: number): number {{\n  const c = a + b * {i};\n  return c;\n}}\n\n",
    "go": "func f_{i}(a, b int) int {{\n\tc := a + b*{i}\n\treturn c\n}}\n\n",
    "rust": "fn f_{i}(a: i64, b: i64) -> i64 {{\n    let c = a + b * {i};\n    c\n}}\n\n",
    "java": "  int f_{i}(int a, int b) {{\n    int c = a + b * {i};\n    return c;\n  }}\n\n",
    "c": "int f_{i}(int a, int b) {{\n    int c = a + b * {i};\n    return c;\n}}\n\n",
    "cpp": "int f_{i}(int a, int b) {{\n    int c = a + b * {i};\n    return c;\n}}\n\n",
}


def big_file(language: str, size: int) -> str:
    """An ordinary file of about ``size`` bytes: many small functions."""
    head = {"go": "package p\n\n", "java": "class A {\n"}.get(language, "")
    unit = _FUNCTION[language]
    parts = [head]
    total, i = len(head), 0
    while total < size:
        part = unit.format(i=i)
        parts.append(part)
        total += len(part)
        i += 1
    if language == "java":
        parts.append("}\n")
    return "".join(parts)


#: name -> (generator, size for the benchmark's default run)
GENERATORS: dict[str, tuple[Callable[[str, int], str], int]] = {
    "unclosed_parens": (unclosed, 100_000),
    "unclosed_brackets": (lambda lang, n: unclosed(lang, n, "["), 100_000),
    "unclosed_braces": (lambda lang, n: unclosed(lang, n, "{"), 100_000),
    "balanced_calls": (balanced_calls, 20_000),
    "nested_literal": (nested_literal, 20_000),
    "operator_chain": (operator_chain, 100_000),
    "nested_blocks": (nested_blocks, 1_000),
    "unclosed_blocks": (unclosed_blocks, 20_000),
    "unclosed_string": (unclosed_string, 20_000),
    "unclosed_comment": (unclosed_comment, 20_000),
    "error_soup": (error_soup, 20_000),
    "long_line": (long_line, 1_000_000),
}


def comment_prefix(language: str) -> str:
    return _LINE_COMMENT[language]
