"""Which files of a workspace the index may read, and the walk that finds them.

A file is indexable when its extension has a grammar, its name does not match the
secret patterns, no ``.gitignore`` on its way down (nested ones included, plus
``.git/info/exclude``) ignores it, and no folder on its path is hidden, a
``node_modules``/``__pycache__``/``site-packages`` or a virtualenv (has ``pyvenv.cfg``).
Size and binary checks need the file itself and happen in the walk / at read time.

The walk is breadth-first (shallow files first, so a budget keeps the top of the
tree) and a generator: it yields ``None`` after each folder so that its caller can
pace itself.
"""

from __future__ import annotations

import logging
import os
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from stat import S_ISREG
from pathlib import Path
from typing import Any

import pathspec

from ..core.secrets import SecretFilter
from ..syntax.languages import EXTENSIONS

log = logging.getLogger(__name__)

SKIP_DIRS = frozenset({"node_modules", "__pycache__", "site-packages"})
IGNORE_FILE = ".gitignore"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file the walk found: root-relative POSIX path and its stat."""

    path: str
    size: int
    mtime_ns: int


class WorkspaceFiles:
    """The file rules of one workspace root (``.gitignore`` specs are cached per folder)."""

    def __init__(self, root: Path, secrets: SecretFilter, *, max_file_bytes: int,
                 extensions: Mapping[str, str] = EXTENSIONS) -> None:
        self.root = Path(os.path.realpath(root))
        self._secrets = secrets
        self.max_file_bytes = max_file_bytes
        self._extensions = extensions
        self._specs: dict[str, Any] = {}
        self._dirs: dict[str, bool] = {}
        self._accepted: dict[tuple[str, bool], bool] = {}
        self.skipped: Counter[str] = Counter()

    # -- paths ------------------------------------------------------------------------
    def relpath(self, path: str | Path) -> str | None:
        """``path`` (absolute, or relative to the root) as a root-relative POSIX path;
        None when it is outside the root."""
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        try:
            rel = Path(os.path.normpath(candidate)).relative_to(self.root)
        except ValueError:
            resolved = Path(os.path.realpath(candidate))
            try:
                rel = resolved.relative_to(self.root)
            except ValueError:
                return None
        text = rel.as_posix()
        return None if text in ("", ".") or text.startswith("../") else text

    def abspath(self, rel: str) -> Path:
        return self.root / rel

    def invalidate(self) -> None:
        """Forget cached ignore rules (a ``.gitignore`` changed)."""
        self._specs.clear()
        self._dirs.clear()
        self._accepted.clear()

    # -- rules ------------------------------------------------------------------------
    def supported(self, rel: str) -> bool:
        return os.path.splitext(rel)[1].lower() in self._extensions

    def accepts(self, rel: str, *, any_extension: bool = False) -> bool:
        """Whether a root-relative file passes every rule but size and content (cached
        until ``invalidate``: it is asked on every keystroke of an open document)."""
        key = (rel, any_extension)
        known = self._accepted.get(key)
        if known is None:
            known = self._accepts(rel, any_extension)
            if len(self._accepted) > 100_000:
                self._accepted.clear()
            self._accepted[key] = known
        return known

    def _accepts(self, rel: str, any_extension: bool) -> bool:
        if not rel or (not any_extension and not self.supported(rel)):
            return False
        if self._secrets.is_secret_path(rel):
            return False
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            if not self._dir_ok("/".join(parts[:depth])):
                return False
        return not self._ignored(rel, is_dir=False)

    def ignored(self, rel: str) -> bool:
        """Whether ``.gitignore`` rules (nested ones included) leave out this root-relative file or
        a folder on its way (hidden and dependency folders are not judged here)."""
        parts = rel.split("/")
        return any(self._ignored("/".join(parts[:depth]), is_dir=True) for depth in range(1, len(parts))) \
            or self._ignored(rel, is_dir=False)

    def folder_ok(self, rel: str) -> bool:
        """Whether a root-relative folder may hold indexable files (not hidden, ignored,
        a dependency folder or a virtualenv)."""
        return self._dir_ok(rel)

    def _dir_ok(self, rel: str) -> bool:
        known = self._dirs.get(rel)
        if known is None:
            name = rel.rsplit("/", 1)[-1]
            known = not (
                name.startswith(".") or name in SKIP_DIRS
                or os.path.exists(self.root / rel / "pyvenv.cfg")
                or self._ignored(rel, is_dir=True)
            )
            self._dirs[rel] = known
        return known

    def _ignored(self, rel: str, *, is_dir: bool) -> bool:
        parts = rel.split("/")
        for depth in range(len(parts) - 1, -1, -1):
            base = "/".join(parts[:depth])
            spec = self._spec(base)
            if spec is None:
                continue
            sub = "/".join(parts[depth:]) + ("/" if is_dir else "")
            verdict = spec.check_file(sub).include
            if verdict is not None:
                return bool(verdict)
        return False

    def _spec(self, base: str) -> Any:
        if base in self._specs:
            return self._specs[base]
        folder = self.root / base if base else self.root
        lines: list[str] = []
        sources = [folder / IGNORE_FILE]
        if not base:
            sources.insert(0, self.root / ".git" / "info" / "exclude")
        for source in sources:
            try:
                lines.extend(source.read_text(encoding="utf-8", errors="replace").splitlines())
            except OSError:
                continue
        spec = None
        if lines:
            try:
                spec = pathspec.GitIgnoreSpec.from_lines(lines)
            except Exception as exc:  # noqa: BLE001 - a bad .gitignore only costs precision
                log.warning("index: cannot use the ignore rules in %s: %s", folder, exc)
        self._specs[base] = spec
        return spec

    # -- walk -------------------------------------------------------------------------
    def walk(self) -> Iterator[Candidate | None]:
        """Indexable files, breadth-first, names sorted; ``None`` after each folder.
        ``skipped`` counts what was left out and why."""
        self.skipped = Counter()
        queue: deque[str] = deque([""])
        while queue:
            base = queue.popleft()
            try:
                with os.scandir(self.root / base if base else self.root) as scan:
                    entries = sorted(scan, key=lambda e: e.name)
            except OSError as exc:
                log.debug("index: cannot list %s: %s", base or ".", exc)
                continue
            for entry in entries:
                rel = f"{base}/{entry.name}" if base else entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if self._dir_ok(rel):
                            queue.append(rel)
                        continue
                    if not entry.is_file():
                        continue
                except OSError:
                    continue
                found = self._candidate(entry, rel)
                if found is not None:
                    yield found
            yield None

    def _candidate(self, entry: os.DirEntry[str], rel: str) -> Candidate | None:
        if not self.supported(rel):
            return None
        if self._secrets.is_secret_path(rel):
            self.skipped["secret"] += 1
            return None
        if self._ignored(rel, is_dir=False):
            self.skipped["ignored"] += 1
            return None
        try:
            if entry.is_symlink() and not self._inside(entry.path):
                self.skipped["outside"] += 1
                return None
            stat = entry.stat()
        except OSError:
            self.skipped["unreadable"] += 1
            return None
        if stat.st_size > self.max_file_bytes:
            self.skipped["too_large"] += 1
            return None
        return Candidate(rel, stat.st_size, stat.st_mtime_ns)

    def inside(self, rel: str) -> bool:
        """Whether the file, symlinks resolved, lies under the root."""
        return self._inside(str(self.root / rel))

    def _inside(self, path: str) -> bool:
        try:
            Path(os.path.realpath(path)).relative_to(self.root)
        except ValueError:
            return False
        return True

    def stat(self, rel: str) -> Candidate | None:
        """A fresh stat of one file, or None if it is missing, not a file or too large."""
        try:
            stat = os.stat(self.root / rel)
        except OSError:
            return None
        if not S_ISREG(stat.st_mode) or stat.st_size > self.max_file_bytes:
            return None
        return Candidate(rel, stat.st_size, stat.st_mtime_ns)
