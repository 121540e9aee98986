"""Every grammar's queries are compiled at start-up, in a thread, not by the first document
of a language on the event loop (issue 12 item 9: compiling the C++ and TypeScript queries
is one C call of 40-60 ms that holds the GIL; the first C++ file opened stalled the loop
for as long)."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
import tree_sitter

from lsp_server.config import Settings
from lsp_server.index.extract import SymbolExtractor, warm_languages
from lsp_server.services import Services
from lsp_server.syntax.document import SyntaxDocument
from lsp_server.syntax.languages import SPECS, LanguageRegistry

SOURCES = {
    "python": "import os\n\nLIMIT = 3\n\ndef f(x):\n    return x\n",
    "cpp": "#include <vector>\n#define N 3\nint f(int x) { return x; }\nstruct S { void m(); };\n",
    "typescript": "import { a } from './a';\nexport const B = 1;\nfunction f(x: number) { return x; }\n",
}


def _count_compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every ``tree_sitter.Query`` built from now on (by the source's first line)."""
    built: list[str] = []
    original = tree_sitter.Query

    def spy(language: tree_sitter.Language, source: str) -> tree_sitter.Query:
        built.append(source.splitlines()[0] if source else "")
        return original(language, source)

    monkeypatch.setattr(tree_sitter, "Query", spy)
    return built


def test_after_warming_no_document_or_index_use_compiles(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = LanguageRegistry()
    built = _count_compiles(monkeypatch)
    assert warm_languages(registry) == len(SPECS)
    assert len(built) >= 2 * len(SPECS), "each language's definitions and imports at least"
    built.clear()
    for name, source in SOURCES.items():
        doc = SyntaxDocument(source, SPECS[name], registry)
        outline = doc.outline
        outline.refresh(None)
        assert outline.complete and outline.definitions(), name
        symbols = SymbolExtractor(registry).extract(source, SPECS[name], f"a.{name}")  # a new extractor
        assert symbols.rows, name
    assert built == [], "a document or the index compiled a query after the warm-up"


def test_a_cold_registry_compiles_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """The spy above can see a compile: without the warm-up, the first document makes one."""
    registry = LanguageRegistry()
    built = _count_compiles(monkeypatch)
    doc = SyntaxDocument(SOURCES["cpp"], SPECS["cpp"], registry)
    doc.outline.refresh(None)
    assert built


def test_extractors_of_one_registry_share_the_compiled_extras() -> None:
    registry = LanguageRegistry()
    first, second = SymbolExtractor(registry), SymbolExtractor(registry)
    assert not second.is_warm(SPECS["c"])
    first.warm(SPECS["c"])
    assert second.is_warm(SPECS["c"])
    assert first._extra_query(SPECS["c"]) is second._extra_query(SPECS["c"])  # noqa: SLF001


def test_a_grammar_that_fails_to_load_is_warm_and_plain() -> None:
    def loader(module: str, attr: str) -> object:
        if module == "tree_sitter_go":
            raise ImportError("no go here")
        import importlib

        return getattr(importlib.import_module(module), attr)()

    registry = LanguageRegistry(loader=loader)
    assert warm_languages(registry) == len(SPECS) - 1
    assert SymbolExtractor(registry).is_warm(SPECS["go"])
    assert registry.for_document("go", "a.go") is None


class _Tokens:
    def __init__(self) -> None:
        self.started = threading.Event()
        self.thread = ""

    def start_loading(self) -> None:
        self.thread = threading.current_thread().name
        self.started.set()


def test_services_warm_up_in_a_start_up_thread_then_load_the_tokenizer(tmp_path: Path) -> None:
    registry = LanguageRegistry()
    tokens = _Tokens()
    services = Services(Settings(cache_dir=tmp_path, index_enabled=False), registry=registry,
                        tokens=tokens)  # type: ignore[arg-type]
    started = time.perf_counter()
    services.start_warm_up()
    assert time.perf_counter() - started < 0.05, "start_warm_up returns at once"
    assert tokens.started.wait(30), "the tokenizer load starts after the grammars"
    assert tokens.thread == "start-up"
    assert all(SymbolExtractor(registry).is_warm(spec) for spec in SPECS.values())
    asyncio.run(services.aclose())
