"""The index's plain values: a definition (``Symbol``), an import (``Import``), a file's
worth of both (``FileSymbols``), and their compact JSON form for the store.

Paths are root-relative POSIX strings; lines are 0-based and inclusive. Signatures
and docs have already passed the secret filter when a ``Symbol`` is built.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

#: The kinds a symbol can have (a small, language-neutral vocabulary).
KINDS = frozenset({
    "function", "method", "class", "interface", "struct", "enum", "type",
    "constant", "variable", "macro", "module",
})

#: Bumped whenever extraction changes what it produces: stored entries of another
#: version are dropped by the store (files are re-parsed once).
EXTRACTOR_VERSION = 1


class Symbol(NamedTuple):
    """One workspace definition.

    The index stores it as a plain tuple (see ``FileSymbols``) and hands out this view.
    """

    name: str
    kind: str            # one of KINDS
    path: str            # root-relative POSIX path
    start_line: int      # 0-based, decorators / attributes included
    end_line: int        # 0-based, inclusive
    signature: str       # the header line(s), capped, secrets masked
    doc: str = ""        # first line of the docstring or leading comment
    container: str = ""  # enclosing class / impl / namespace ("Outer.Inner"), "" at top level
    language: str = ""

    @property
    def qualified_name(self) -> str:
        """``Container.name`` (or just ``name`` at top level)."""
        return f"{self.container}.{self.name}" if self.container else self.name


class Import(NamedTuple):
    """One imported module or name, as written in the importing file.

    ``from a.b import c as d`` -> ``Import("a.b", "c", "d")``; ``import x.y`` ->
    ``Import("x.y", None, None)``; ``import {x as y} from './m'`` -> ``Import("./m", "x", "y")``;
    a wildcard is ``name="*"``; a JS default import is ``name="default"``.
    """

    module: str
    name: str | None = None
    alias: str | None = None

    @property
    def bound(self) -> str | None:
        """The name this import binds in the importing file (None: none or a wildcard)."""
        if self.alias:
            return self.alias
        if self.name and self.name != "*":
            return self.name
        return None


@dataclass(frozen=True, slots=True)
class FileSymbols:
    """Everything the index keeps about one file's content.

    Symbols and imports are held as plain tuples (``rows``, ``import_rows``, fields in
    ``Symbol``/``Import`` order): unlike NamedTuple instances, exact tuples of strings
    and ints leave the cyclic GC's books, so 100,000 indexed symbols cost the garbage
    collector nothing (measured: a full collection went from 77 ms to a few ms).
    ``symbols`` and ``imports`` build the named views on demand.
    """

    language: str
    rows: tuple[tuple[Any, ...], ...] = ()
    import_rows: tuple[tuple[Any, ...], ...] = ()

    @classmethod
    def of(cls, language: str, symbols: Iterable[Symbol | tuple[Any, ...]] = (),
           imports: Iterable[Import | tuple[Any, ...]] = ()) -> FileSymbols:
        """From named tuples or plain rows (a plain row is kept as it is)."""
        return cls(language, tuple(tuple(s) for s in symbols), tuple(tuple(i) for i in imports))

    @property
    def symbols(self) -> tuple[Symbol, ...]:
        return tuple(Symbol._make(row) for row in self.rows)

    @property
    def imports(self) -> tuple[Import, ...]:
        return tuple(Import._make(row) for row in self.import_rows)


def dumps(found: FileSymbols) -> str:
    """Compact JSON for the store (path and language are the row's, not repeated per symbol)."""
    payload = {
        "s": [[r[0], r[1], r[3], r[4], r[5], r[6], r[7]] for r in found.rows],
        "i": [list(r) for r in found.import_rows],
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def loads(raw: str, path: str, language: str) -> FileSymbols:
    """The inverse of ``dumps``; raises ValueError on a malformed payload."""
    try:
        payload: Any = json.loads(raw)
        rows = tuple(
            (str(n), str(k), path, int(a), int(b), str(sig), str(doc), str(c), language)
            for n, k, a, b, sig, doc, c in payload["s"]
        )
        imports = tuple(
            (str(m), None if n is None else str(n), None if al is None else str(al))
            for m, n, al in payload["i"]
        )
    except (TypeError, KeyError, ValueError) as exc:
        raise ValueError(f"bad stored symbols for {path}: {exc}") from exc
    return FileSymbols(language, rows, imports)
