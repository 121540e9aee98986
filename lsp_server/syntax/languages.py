"""Language registry: LSP languageId / file extension -> LanguageSpec, and lazy grammars.

Grammars come from the per-language wheels (tree-sitter-python, ...), are imported
only when a document of that language first shows up, and are cached per registry
instance together with the compiled queries. Compiling a query is one C call of up to
60 ms (C++, TypeScript) that holds the GIL, so the server compiles every language's
queries in a start-up thread (``index/extract.warm_languages``), not at a document's
first use on the event loop. A grammar that fails to load (missing
wheel, ABI mismatch) is logged once as a warning and its documents are treated as
plain text: ``for_document`` returns ``None`` and ``parser`` returns ``None``.

Thread-safety: the registry's caches are guarded by a lock, so one registry can be
shared. ``tree_sitter.Parser`` objects are NOT thread-safe, which is why ``parser``
hands out a new one per call (creating one costs microseconds); each
``SyntaxDocument`` owns its own.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeVar

import tree_sitter

from lsp_server.syntax.queries import LANGUAGE_DATA, LanguageData

_log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class LanguageSpec:
    """A supported language, as the rest of the server sees it."""

    name: str             # "python","javascript","typescript","tsx","go","rust","java","c","cpp"
    brace_language: bool  # False only for python
    comment_prefix: str   # "#" or "//"


SPECS: MappingProxyType[str, LanguageSpec] = MappingProxyType({
    name: LanguageSpec(name, name != "python", "#" if name == "python" else "//")
    for name in ("python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp")
})

LANGUAGE_IDS: MappingProxyType[str, str] = MappingProxyType({
    "python": "python", "py": "python",
    "javascript": "javascript", "javascriptreact": "javascript", "js": "javascript",
    "jsx": "javascript",
    "typescript": "typescript", "ts": "typescript",
    "typescriptreact": "tsx", "tsx": "tsx",
    "go": "go", "golang": "go",
    "rust": "rust", "rs": "rust",
    "java": "java",
    "c": "c",
    "cpp": "cpp", "c++": "cpp", "cxx": "cpp", "cuda-cpp": "cpp",
})

EXTENSIONS: MappingProxyType[str, str] = MappingProxyType({
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".c++": "cpp",
    ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp", ".h++": "cpp",
})

QUERY_KINDS = ("definitions", "imports")

#: ``loader(module, attr)`` returns a grammar's language pointer (injectable for tests).
Loader = Callable[[str, str], object]


def _import_language(module: str, attr: str) -> object:
    return getattr(importlib.import_module(module), attr)()


class LanguageRegistry:
    """Maps LSP languageId / file extension to a LanguageSpec; loads grammars lazily and
    caches Language and compiled Query objects (per instance, no module globals)."""

    def __init__(self, loader: Loader | None = None) -> None:
        self._loader = loader or _import_language
        self._lock = threading.RLock()
        self._languages: dict[str, tree_sitter.Language] = {}
        self._failed: set[str] = set()
        self._queries: dict[tuple[str, str], tree_sitter.Query | None] = {}
        self._compiled: dict[tuple[str, str], object] = {}  # what other modules compile per grammar

    # -- lookup --------------------------------------------------------------------
    def for_document(self, language_id: str | None, path: str) -> LanguageSpec | None:
        """The document's language, or None (plain text) if unknown or its grammar fails."""
        name = LANGUAGE_IDS.get((language_id or "").strip().lower())
        if name is None:
            name = EXTENSIONS.get(os.path.splitext(path or "")[1].lower())
        if name is None:
            return None
        spec = SPECS[name]
        return spec if self._load(spec) is not None else None

    def supported(self) -> list[str]:
        """Names of all languages this registry knows (whether or not their grammar loads)."""
        return list(SPECS)

    @staticmethod
    def data(spec: LanguageSpec) -> LanguageData:
        """The per-language node types, query patterns and header pattern."""
        return LANGUAGE_DATA[spec.name]

    # -- grammar objects -------------------------------------------------------------
    def language(self, spec: LanguageSpec) -> tree_sitter.Language:
        """The grammar; raises RuntimeError if it cannot be loaded (check for_document first)."""
        language = self._load(spec)
        if language is None:
            raise RuntimeError(f"tree-sitter grammar for {spec.name} is unavailable")
        return language

    def parser(self, spec: LanguageSpec) -> tree_sitter.Parser | None:
        """A NEW parser (parsers are not thread-safe), or None if the grammar fails to load."""
        language = self._load(spec)
        return tree_sitter.Parser(language) if language is not None else None

    def query(self, spec: LanguageSpec, kind: str) -> tree_sitter.Query | None:
        """The compiled ``kind`` query ("definitions" or "imports"), compiled once and cached."""
        if kind not in QUERY_KINDS:
            raise ValueError(f"unknown query kind {kind!r}")
        key = (spec.name, kind)
        with self._lock:
            if key not in self._queries:
                language = self._load(spec)
                self._queries[key] = (
                    None if language is None else self._compile(language, spec.name, kind)
                )
            return self._queries[key]

    def compiled(self, kind: str, spec: LanguageSpec, build: Callable[[], T]) -> T:
        """``build()``'s result for (``kind``, ``spec``), built once and shared by every user
        of this registry (e.g. the index's extra queries: each extractor would compile its own)."""
        key = (kind, spec.name)
        with self._lock:
            if key not in self._compiled:
                self._compiled[key] = build()
            return self._compiled[key]  # type: ignore[return-value]

    def has_compiled(self, kind: str, spec: LanguageSpec) -> bool:
        with self._lock:
            return (kind, spec.name) in self._compiled

    # -- internals -------------------------------------------------------------------
    def _load(self, spec: LanguageSpec) -> tree_sitter.Language | None:
        with self._lock:
            if spec.name in self._languages:
                return self._languages[spec.name]
            if spec.name in self._failed:
                return None
            data = LANGUAGE_DATA[spec.name]
            try:
                language = tree_sitter.Language(self._loader(data.module, data.attr))
            except Exception as exc:  # noqa: BLE001 - import error, ABI mismatch, bad pointer
                self._failed.add(spec.name)
                _log.warning(
                    "tree-sitter grammar for %s unavailable (%s: %s); treating its files as plain text",
                    spec.name, type(exc).__name__, exc,
                )
                return None
            self._languages[spec.name] = language
            return language

    @staticmethod
    def _compile(language: tree_sitter.Language, name: str, kind: str) -> tree_sitter.Query | None:
        """Compile the patterns this grammar version accepts; skip (and log) the rest."""
        patterns = getattr(LANGUAGE_DATA[name], kind)
        if not patterns:
            return None
        try:  # all patterns valid: one compile (validating each first would double the cost)
            return tree_sitter.Query(language, "\n".join(patterns))
        except Exception:  # noqa: BLE001 - find the patterns this grammar version rejects
            pass
        valid = []
        for pattern in patterns:
            try:
                tree_sitter.Query(language, pattern)
            except Exception as exc:  # noqa: BLE001 - QueryError and friends
                _log.debug("skipping %s %s pattern %r: %s", name, kind, pattern, exc)
                continue
            valid.append(pattern)
        return tree_sitter.Query(language, "\n".join(valid)) if valid else None
