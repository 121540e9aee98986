"""Best-effort resolution of imports and names to indexed definitions.

``module_files`` maps an import's module, as written, to indexed files by the
language's rules: Python dotted / relative modules (``a/b.py``, ``a/b/__init__.py``,
found under any folder), JS/TS relative specifiers (extensions and ``index`` files),
Go import paths (the folder whose path ends the import path), Rust ``crate::`` /
``self::`` / ``super::`` paths, Java packages and classes, C/C++ includes. Packages
from outside the workspace resolve to nothing.

``resolve_name`` answers "where is this name used in that file defined?": through the
file's imports first (aliases, ``module.attr``, wildcards, includes), then anywhere in
the workspace, nearest folder and same language first.
"""

from __future__ import annotations

import posixpath

from lsp_server.index.symbols import Import, Symbol
from lsp_server.index.tables import SymbolTable

_JS_EXTS = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts")
_FAMILY = {"typescript": "javascript", "tsx": "javascript", "cpp": "c"}
_DEPTH = 3  # re-export hops


def _family(language: str) -> str:
    return _FAMILY.get(language, language)


class ImportResolver:
    """Resolves imports and names against a ``SymbolTable`` (results cached per table generation)."""

    def __init__(self, table: SymbolTable) -> None:
        self._table = table
        self._generation = -1
        self._cache: dict[tuple[str, str, str], tuple[str, ...]] = {}

    # -- modules ----------------------------------------------------------------------
    def module_files(self, from_path: str, language: str, module: str) -> tuple[str, ...]:
        """Indexed files that ``module`` (as written in ``from_path``) refers to."""
        if self._generation != self._table.generation:
            self._cache.clear()
            self._generation = self._table.generation
        key = (language, posixpath.dirname(from_path), module)
        found = self._cache.get(key)
        if found is None:
            found = tuple(self._find(from_path, language, module))
            self._cache[key] = found
        return found

    def _find(self, from_path: str, language: str, module: str) -> list[str]:
        paths = self._table.paths()
        family = _family(language)
        folder = posixpath.dirname(from_path)
        if family == "python":
            return _python_files(paths, folder, module)
        if family == "javascript":
            return _js_files(paths, folder, module)
        if family == "go":
            return _go_files(paths, module)
        if family == "rust":
            return _rust_files(paths, from_path, module)
        if family == "java":
            return _java_files(paths, module)
        if family == "c":
            exact = posixpath.normpath(posixpath.join(folder, module))
            if exact in paths:
                return [exact]
            return _by_suffix(paths, [module])
        return []

    # -- imports ----------------------------------------------------------------------
    def resolve_import(self, from_path: str, module: str, name: str | None, *, depth: int = _DEPTH) -> list[Symbol]:
        """Definitions of ``name`` in ``module`` as imported by ``from_path``; for a whole
        module (``name`` None, ``*``, or a submodule) its top-level definitions."""
        language = self._language(from_path)
        files = self.module_files(from_path, language, module)
        if name and name not in ("*", "default"):
            hits = self._named(files, name)
            if hits:
                return hits
            submodule = _join(language, module, name)
            if submodule:
                inner = self.module_files(from_path, language, submodule)
                if inner:
                    return self._top_level(inner)
            if depth > 0:
                for path in files:
                    for imp in self._imports(path):
                        if imp.bound == name or imp.name == "*":
                            hits = self.resolve_import(path, imp.module, imp.name if imp.name != "*" else name,
                                                       depth=depth - 1)
                            if hits:
                                return hits
            return []
        if name == "default":
            return [s for f in files for s in self._symbols(f) if "export default" in s.signature]
        return self._top_level(files)

    # -- names ------------------------------------------------------------------------
    def resolve_name(self, from_path: str, name: str, *, limit: int = 5) -> list[Symbol]:
        """Where ``name`` (``f``, ``mod.f``, ``Class.method``, ``pkg::f``) used in ``from_path``
        is defined: through its imports, else anywhere (nearest first)."""
        dotted = name.replace("::", ".")
        head, _, rest = dotted.partition(".")
        member = rest.split(".")[0] if rest else ""
        language = self._language(from_path)
        imports = self._imports(from_path)
        for imp in imports:
            if imp.bound != head and not (imp.name is None and imp.alias is None
                                          and _package_name(language, imp.module) == head):
                continue
            if imp.name in (None, "*"):
                hits = self.resolve_import(from_path, imp.module, member or None)
            else:
                hits = self.resolve_import(from_path, imp.module, imp.name)
                if member:
                    hits = self._members(hits, member) or self.resolve_import(
                        from_path, _join(language, imp.module, imp.name) or imp.module, member)
            if hits:
                return hits[:limit]
        if _family(language) == "python":
            for imp in imports:
                if imp.name is None and imp.alias is None and dotted.startswith(imp.module + "."):
                    hits = self.resolve_import(from_path, imp.module, dotted[len(imp.module) + 1:].split(".")[0])
                    if hits:
                        return hits[:limit]
        for imp in imports:
            wildcard = imp.name == "*" and not imp.alias
            include = _family(language) == "c" and imp.name is None
            if wildcard or include:
                hits = self._named(self.module_files(from_path, language, imp.module), head)
                if hits:
                    return (self._members(hits, member) or hits)[:limit]
        return self._anywhere(from_path, language, head, member)[:limit]

    def _anywhere(self, from_path: str, language: str, head: str, member: str) -> list[Symbol]:
        if member:
            found = [s for s in self._table.named(member) if s.container.split(".")[-1:] == [head]]
            if found:
                return self._nearest(from_path, language, found)
        found = [s for s in self._table.named(head) if s.path != from_path]
        return self._nearest(from_path, language, found)

    @staticmethod
    def _nearest(from_path: str, language: str, found: list[Symbol]) -> list[Symbol]:
        folder = posixpath.dirname(from_path)
        family = _family(language)
        return sorted(found, key=lambda s: (
            _family(s.language) != family, posixpath.dirname(s.path) != folder, bool(s.container),
            s.path.count("/"), s.path, s.start_line,
        ))

    # -- table access -------------------------------------------------------------------
    def _language(self, path: str) -> str:
        entry = self._table.entry(path)
        return entry.found.language if entry is not None else ""

    def _imports(self, path: str) -> tuple[Import, ...]:
        entry = self._table.entry(path)
        return entry.found.imports if entry is not None else ()

    def _symbols(self, path: str) -> tuple[Symbol, ...]:
        entry = self._table.entry(path)
        return entry.found.symbols if entry is not None else ()

    def _named(self, files: tuple[str, ...], name: str) -> list[Symbol]:
        hits = [s for f in files for s in self._symbols(f) if s.name == name]
        top = [s for s in hits if not s.container]
        return top or hits

    def _members(self, owners: list[Symbol], member: str) -> list[Symbol]:
        found = []
        for owner in owners:
            for symbol in self._symbols(owner.path):
                if symbol.name == member and symbol.container.split(".")[-1:] == [owner.name]:
                    found.append(symbol)
        return found

    def _top_level(self, files: tuple[str, ...], limit: int = 50) -> list[Symbol]:
        return [s for f in files for s in self._symbols(f) if not s.container][:limit]


# -- per-language module -> files ---------------------------------------------------------
def _by_suffix(paths: set[str], suffixes: list[str]) -> list[str]:
    """Paths equal to or ending in ``/suffix``, shortest first (per suffix, in order)."""
    found: list[str] = []
    for suffix in suffixes:
        tail = "/" + suffix
        hits = sorted((p for p in paths if p == suffix or p.endswith(tail)), key=lambda p: (len(p), p))
        found.extend(h for h in hits if h not in found)
        if found:
            break
    return found


def _python_files(paths: set[str], folder: str, module: str) -> list[str]:
    dots = len(module) - len(module.lstrip("."))
    parts = [p for p in module.lstrip(".").split(".") if p]
    stem = "/".join(parts)
    if dots:
        base = folder
        for _ in range(dots - 1):
            base = posixpath.dirname(base)
        full = posixpath.join(base, stem) if stem else base
        options = [f"{full}.py", f"{full}.pyi"] if stem else []
        options += [posixpath.join(full, "__init__.py"), posixpath.join(full, "__init__.pyi")]
        return [p.lstrip("/") for p in options if p.lstrip("/") in paths]
    if not stem:
        return []
    return _by_suffix(paths, [f"{stem}.py", f"{stem}.pyi", f"{stem}/__init__.py", f"{stem}/__init__.pyi"])


def _js_files(paths: set[str], folder: str, module: str) -> list[str]:
    if not module.startswith("."):
        return []
    base = posixpath.normpath(posixpath.join(folder, module))
    if base.startswith(".."):
        return []
    options = [base] + [base + ext for ext in _JS_EXTS] + [f"{base}/index{ext}" for ext in _JS_EXTS]
    stem, ext = posixpath.splitext(base)
    if ext in (".js", ".jsx", ".mjs", ".cjs"):
        options += [stem + e for e in (".ts", ".tsx", ".mts", ".cts")]
    for option in options:
        if option in paths:
            return [option]
    return []


def _go_files(paths: set[str], module: str) -> list[str]:
    if "/" not in module:
        return []  # the standard library
    folders = {posixpath.dirname(p) for p in paths if p.endswith(".go")}
    matches = [d for d in folders if d and (module == d or module.endswith("/" + d))]
    if not matches:
        return []
    best = max(matches, key=len)
    return sorted(p for p in paths if posixpath.dirname(p) == best and p.endswith(".go")
                  and not p.endswith("_test.go"))


def _rust_files(paths: set[str], from_path: str, module: str) -> list[str]:
    parts = [p for p in module.split("::") if p]
    if not parts:
        return []
    if parts[0] == "crate":
        base = _rust_crate_src(from_path)
        rest = parts[1:]
        if not rest:
            return [p for p in (f"{base}/lib.rs".lstrip("/"), f"{base}/main.rs".lstrip("/")) if p in paths]
    elif parts[0] in ("self", "super"):
        base = _rust_module_dir(from_path)
        rest = parts[1:]
        if parts[0] == "super":
            base = posixpath.dirname(base)
        while rest and rest[0] == "super":
            base, rest = posixpath.dirname(base), rest[1:]
        if not rest:
            return [p for p in (f"{base}.rs", f"{base}/mod.rs") if p in paths]
    else:
        return []
    stem = posixpath.join(base, *rest)
    return [p for p in (f"{stem}.rs".lstrip("/"), f"{stem}/mod.rs".lstrip("/")) if p in paths]


def _rust_crate_src(from_path: str) -> str:
    parts = from_path.split("/")[:-1]
    if "src" in parts:
        return "/".join(parts[: len(parts) - parts[::-1].index("src")])
    return posixpath.dirname(from_path)


def _rust_module_dir(from_path: str) -> str:
    folder, name = posixpath.split(from_path)
    if name in ("mod.rs", "lib.rs", "main.rs"):
        return folder
    return posixpath.join(folder, posixpath.splitext(name)[0])


def _java_files(paths: set[str], module: str) -> list[str]:
    as_path = module.replace(".", "/")
    exact = _by_suffix(paths, [f"{as_path}.java"])
    if exact:
        return exact
    tail = "/" + as_path
    return sorted(p for p in paths if p.endswith(".java")
                  and (posixpath.dirname(p) == as_path or posixpath.dirname(p).endswith(tail)))


def _join(language: str, module: str, name: str) -> str | None:
    """The module path of ``name`` inside ``module`` (None where that means nothing)."""
    family = _family(language)
    if family in ("python", "java"):
        return module + name if module.endswith(".") else f"{module}.{name}"
    if family == "rust":
        return f"{module}::{name}"
    return None


def _package_name(language: str, module: str) -> str:
    """The name a module import binds without an alias (Go: last path element)."""
    family = _family(language)
    if family == "go":
        last = module.rstrip("/").rsplit("/", 1)[-1]
        if last.startswith("v") and last[1:].isdigit() and "/" in module:
            last = module.rstrip("/").rsplit("/", 2)[-2]
        return last
    return ""  # Python's ``import a.b`` is handled by its own rule
