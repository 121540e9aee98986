"""Where a project keeps its tests, so "Write tests with AI" puts new ones there.

``find_test_place`` looks at the files around a source file (a few ``stat`` calls and one
directory listing, so it can run while code actions are listed):

- Python: ``tests/`` (or ``test/``) at the workspace root, else ``test_*.py`` / ``*_test.py``
  beside the file: ``test_<module>.py`` there, for pytest;
- Go: ``<file>_test.go`` beside the file (the language's own rule);
- JavaScript/TypeScript: a ``__tests__`` folder beside the file, else ``*.test.*`` /
  ``*.spec.*`` files beside it, else a ``package.json`` that runs Jest, Vitest or Mocha:
  ``<name>.test.<ext>``;
- Rust: a ``#[cfg(test)] mod tests`` in the file itself;
- Java: ``src/test/java`` mirroring ``src/main/java``: ``<Class>Test.java``;
- C/C++: a ``tests/`` or ``test/`` folder at the root.

The ``actions.testsDir`` setting (relative to the workspace root) wins where it applies and
is the only way for other layouts. Test files themselves get no "Write tests" action.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

_JS_EXTENSIONS = (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts")
_LISTING_LIMIT = 400


@dataclass(frozen=True)
class TestPlace:
    """Where the tests of a file go and how they are written."""

    __test__ = False  # not a pytest test class

    path: Path  # the test file (may not exist yet); for Rust, the source file itself
    framework: str  # said to the model
    hint: str = ""  # how the tests reach the code (an import line), said to the model
    same_file: bool = False  # Rust: a tests module inside the source file


def is_test_file(path: Path) -> bool:
    name = path.name
    parts = {part.lower() for part in path.parts[:-1]}
    return (
        name.startswith("test_") or name.endswith(("_test.py", "_test.go", "Test.java", "Tests.java"))
        or name == "conftest.py" or ".test." in name or ".spec." in name
        or "__tests__" in parts or ("src" in parts and "test" in parts and name.endswith(".java"))
    )


def _listing(folder: Path) -> list[str]:
    try:
        with os.scandir(folder) as entries:
            names = []
            for entry in entries:
                names.append(entry.name)
                if len(names) >= _LISTING_LIMIT:
                    break
            return names
    except OSError:
        return []


def _inside(root: Path | None, path: Path) -> bool:
    return root is not None and (path == root or root in path.parents)


def find_test_place(path: Path, language: str, root: Path | None, tests_dir: str | None) -> TestPlace | None:
    """The place for tests of ``path`` (a file of ``language`` in workspace ``root``), or None."""
    if is_test_file(path):
        return None
    finder = _FINDERS.get(language)
    return finder(path, root, tests_dir) if finder is not None else None


def _python(path: Path, root: Path | None, tests_dir: str | None) -> TestPlace | None:
    stem = path.stem
    module = _python_module(path, root)
    hint = f" Import what the tests use from `{module}` (e.g. `from {module} import ...`)." if module else ""
    folder: Path | None = None
    if tests_dir and root is not None:
        folder = root / tests_dir
    elif root is not None and _inside(root, path):
        folder = next((root / name for name in ("tests", "test") if (root / name).is_dir()), None)
    if folder is None and any(n.startswith("test_") and n.endswith(".py") or n.endswith("_test.py")
                              for n in _listing(path.parent)):
        folder = path.parent
    if folder is None:
        return None
    return TestPlace(folder / f"test_{stem}.py", "pytest (plain test functions and assert)", hint)


def _python_module(path: Path, root: Path | None) -> str:
    if root is None or not _inside(root, path):
        return path.stem
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts and parts[0] in ("src", "lib") and len(parts) > 1:
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _go(path: Path, root: Path | None, tests_dir: str | None) -> TestPlace:
    return TestPlace(path.with_name(f"{path.stem}_test.go"),
                     "Go's testing package (func TestXxx(t *testing.T), table-driven where it fits)",
                     " The tests are in the same package as the code.")


def _js(path: Path, root: Path | None, tests_dir: str | None) -> TestPlace | None:
    ext = path.suffix if path.suffix in _JS_EXTENSIONS else ".js"
    framework = _js_framework(root)
    if tests_dir and root is not None:
        folder = root / tests_dir
        return TestPlace(folder / f"{path.stem}.test{ext}", framework or "Jest", _js_hint(folder, path))
    if (path.parent / "__tests__").is_dir():
        folder = path.parent / "__tests__"
        return TestPlace(folder / f"{path.stem}.test{ext}", framework or "Jest", _js_hint(folder, path))
    names = _listing(path.parent)
    spec = any(".spec." in name for name in names) and not any(".test." in name for name in names)
    if spec or any(".test." in name for name in names) or framework:
        target = path.with_name(f"{path.stem}.{'spec' if spec else 'test'}{ext}")
        return TestPlace(target, framework or "Jest", _js_hint(path.parent, path))
    return None


def _js_hint(folder: Path, path: Path) -> str:
    relative = os.path.relpath(path.with_suffix(""), folder).replace(os.sep, "/")
    if not relative.startswith("."):
        relative = "./" + relative
    return f" Import the code under test from `{relative}`."


def _js_framework(root: Path | None) -> str:
    if root is None:
        return ""
    try:
        package = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    if not isinstance(package, dict):
        return ""
    deps = {**(package.get("devDependencies") or {}), **(package.get("dependencies") or {})}
    for name, label in (("vitest", "Vitest (import { describe, it, expect } from 'vitest')"), ("jest", "Jest"),
                        ("mocha", "Mocha with node:assert")):
        if name in deps:
            return label
    script = str((package.get("scripts") or {}).get("test", ""))
    return "Jest" if "jest" in script else ("node:test with node:assert" if "node --test" in script else "")


def _rust(path: Path, root: Path | None, tests_dir: str | None) -> TestPlace:
    return TestPlace(path, "Rust's built-in tests (#[test] functions in the file's #[cfg(test)] mod tests, "
                     "which has `use super::*;`)", same_file=True)


def _java(path: Path, root: Path | None, tests_dir: str | None) -> TestPlace | None:
    parts = path.parts
    for index in range(len(parts) - 3):
        if parts[index:index + 3] == ("src", "main", "java"):
            mirrored = Path(*parts[:index], "src", "test", "java", *parts[index + 3:-1])
            return TestPlace(mirrored / f"{path.stem}Test.java", "JUnit 5 (org.junit.jupiter.api)",
                             " The test class is in the same package as the class under test.")
    if tests_dir and root is not None:
        return TestPlace(root / tests_dir / f"{path.stem}Test.java", "JUnit 5 (org.junit.jupiter.api)")
    return None


def _c(path: Path, root: Path | None, tests_dir: str | None) -> TestPlace | None:
    folder = None
    if tests_dir and root is not None:
        folder = root / tests_dir
    elif root is not None:
        folder = next((root / name for name in ("tests", "test") if (root / name).is_dir()), None)
    if folder is None:
        return None
    header = path.with_suffix(".h" if path.suffix == ".c" else ".hpp")
    hint = f" Include `{os.path.relpath(header, folder)}` for the declarations." if header.exists() else ""
    return TestPlace(folder / f"test_{path.stem}{path.suffix}",
                     "the test framework this project's tests use (if none shows, assert() in a main())", hint)


_FINDERS = {
    "python": _python,
    "go": _go,
    "javascript": _js,
    "typescript": _js,
    "tsx": _js,
    "rust": _rust,
    "java": _java,
    "c": _c,
    "cpp": _c,
}
