"""LanguageRegistry: languageId / extension mapping, lazy grammars, queries, failures."""

from __future__ import annotations

import logging

import pytest
import tree_sitter

from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.languages import EXTENSIONS, LANGUAGE_IDS, SPECS, LanguageRegistry

from .test_syntax_samples import SAMPLES

ID_CASES = {
    "python": "python", "javascript": "javascript", "javascriptreact": "javascript",
    "typescript": "typescript", "typescriptreact": "tsx", "go": "go", "rust": "rust",
    "java": "java", "c": "c", "cpp": "cpp", "c++": "cpp", "CPP": "cpp",
}
EXT_CASES = {
    "a.py": "python", "a.pyi": "python", "a.js": "javascript", "a.mjs": "javascript",
    "a.cjs": "javascript", "a.jsx": "javascript", "a.ts": "typescript", "a.mts": "typescript",
    "a.cts": "typescript", "a.tsx": "tsx", "a.go": "go", "a.rs": "rust", "a.java": "java",
    "a.c": "c", "a.h": "c", "a.cc": "cpp", "a.cpp": "cpp", "a.cxx": "cpp", "a.hpp": "cpp",
    "a.hh": "cpp", "a.hxx": "cpp", "/x/y/Main.JAVA": "java",
}


@pytest.fixture(scope="module")
def registry() -> LanguageRegistry:
    return LanguageRegistry()


@pytest.mark.parametrize(("language_id", "expected"), sorted(ID_CASES.items()))
def test_language_ids_map(registry: LanguageRegistry, language_id: str, expected: str) -> None:
    spec = registry.for_document(language_id, "untitled")
    assert spec is not None and spec.name == expected


@pytest.mark.parametrize(("path", "expected"), sorted(EXT_CASES.items()))
def test_extensions_map(registry: LanguageRegistry, path: str, expected: str) -> None:
    spec = registry.for_document(None, path)
    assert spec is not None and spec.name == expected


def test_language_id_wins_over_extension(registry: LanguageRegistry) -> None:
    assert registry.for_document("cpp", "/src/widget.h").name == "cpp"
    assert registry.for_document("plaintext", "/src/a.py").name == "python"  # unknown id -> extension


def test_every_mapping_targets_a_known_spec() -> None:
    assert set(LANGUAGE_IDS.values()) <= set(SPECS)
    assert set(EXTENSIONS.values()) <= set(SPECS)


@pytest.mark.parametrize(("language_id", "path"), [
    (None, "notes.txt"), ("plaintext", "README"), ("markdown", "a.md"), (None, ""), ("", "Makefile"),
])
def test_unknown_is_plain_text(registry: LanguageRegistry, language_id: str | None, path: str) -> None:
    assert registry.for_document(language_id, path) is None


def test_supported_and_spec_fields(registry: LanguageRegistry) -> None:
    assert sorted(registry.supported()) == sorted(
        ["python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp"]
    )
    for name, spec in SPECS.items():
        assert spec.brace_language == (name != "python")
        assert spec.comment_prefix == ("#" if name == "python" else "//")


@pytest.mark.parametrize("name", sorted(SPECS))
def test_grammar_loads_parses_and_queries_compile(registry: LanguageRegistry, name: str) -> None:
    spec = SPECS[name]
    assert isinstance(registry.language(spec), tree_sitter.Language)
    parser = registry.parser(spec)
    assert parser is not None and parser is not registry.parser(spec)  # a new one per call
    tree = parser.parse(SAMPLES[name].replace("<|>", "").encode())
    assert not tree.root_node.has_error
    for kind in ("definitions", "imports"):
        query = registry.query(spec, kind)
        assert isinstance(query, tree_sitter.Query)
        assert registry.query(spec, kind) is query  # compiled once
        assert tree_sitter.QueryCursor(query).matches(tree.root_node)


def test_unknown_query_kind_raises(registry: LanguageRegistry) -> None:
    with pytest.raises(ValueError):
        registry.query(SPECS["python"], "highlights")


def test_grammar_failure_is_plain_text_and_warned_once(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    def broken_loader(module: str, attr: str) -> object:
        calls.append(module)
        raise ImportError(f"No module named {module!r}")

    registry = LanguageRegistry(loader=broken_loader)
    with caplog.at_level(logging.WARNING, logger="lsp_server.syntax.languages"):
        assert registry.for_document("python", "a.py") is None
        assert registry.for_document(None, "b.py") is None
        assert registry.parser(SPECS["python"]) is None
        assert registry.query(SPECS["python"], "imports") is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "python" in warnings[0].getMessage()
    assert calls == ["tree_sitter_python"]
    with pytest.raises(RuntimeError):
        registry.language(SPECS["python"])
    doc = SyntaxDocument("x = 1\n", SPECS["python"], registry)  # degrades to plain text
    assert doc.spec is None and doc.tree is None


def test_abi_mismatch_is_plain_text() -> None:
    def mismatched(module: str, attr: str) -> object:
        raise ValueError("Incompatible Language version 99. Must be between 13 and 15")

    registry = LanguageRegistry(loader=mismatched)
    assert registry.for_document("go", "a.go") is None
    assert registry.parser(SPECS["go"]) is None
