"""The package's dependency rules and its one import style, read from the source (ast), not trusted.

- Only ``protocol/`` (and the composition root ``server.py``) import pygls or lsprotocol.
- ``model/`` never imports ``syntax/``, ``engines/`` or ``protocol/``; ``core/`` imports no other layer.
- ``engines/``, ``index/``, ``syntax/`` never import ``protocol/``; the CI path (``ci/``, ``reporting/``)
  never imports pygls, lsprotocol or ``protocol/``.
- Imports are absolute (``from lsp_server.x import y``), never relative.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "lsp_server"
LSP = ("pygls", "lsprotocol")


def imports_of(path: Path) -> list[tuple[str, int]]:
    """(module, level) of every import statement, nested ones included."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, 0) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.level))
    return found


def modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


def forbidden(paths: list[Path], prefixes: tuple[str, ...]) -> list[str]:
    return [f"{p.relative_to(PACKAGE)}: {name}" for p in paths for name, _ in imports_of(p)
            if any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)]


def test_every_module_is_read() -> None:
    assert len(list(PACKAGE.rglob("*.py"))) > 100


@pytest.mark.parametrize("layer", ["core", "engines", "index", "syntax", "model", "ci", "reporting"])
def test_only_the_protocol_layer_imports_lsp_libraries(layer: str) -> None:
    assert forbidden(modules(layer), LSP + ("lsp_server.protocol", "lsp_server.server")) == []


def test_model_never_reaches_up() -> None:
    assert forbidden(modules("model"), ("lsp_server.syntax", "lsp_server.engines", "lsp_server.index")) == []


def test_core_imports_no_other_layer() -> None:
    others = tuple(f"lsp_server.{name}" for name in ("engines", "index", "syntax", "model", "ci", "reporting",
                                                     "services", "cache", "config"))
    assert forbidden(modules("core"), others) == []


def test_the_ci_review_runs_without_the_editor_glue() -> None:
    assert forbidden(modules("ci") + modules("reporting"), LSP + ("lsp_server.protocol",)) == []


def test_imports_are_absolute() -> None:
    relative = [f"{p.relative_to(PACKAGE)}: {'.' * level}{name}" for p in PACKAGE.rglob("*.py")
                for name, level in imports_of(p) if level]
    assert relative == []
