"""Which files exist for a project: the one owner of that answer.

The symbol index, the editor's workspace review and the CI review all ask
``WorkspaceFiles``; what each then keeps (languages it supports, a ``--diff``, a budget)
is its own business.

*Listing.* Inside a git work tree the list is git's: ``git ls-files --cached`` (tracked)
plus ``--others --exclude-standard`` (untracked files that no nested ``.gitignore``,
``.git/info/exclude`` or global excludes leave out), run at the root. Elsewhere, or
without git, a breadth-first walk applies the same ignore rules itself with
``pathspec``: every ``.gitignore`` on the way down (nested ones, negations) and
``.git/info/exclude``. In both, no project file lives in a ``node_modules``,
``__pycache__``, ``site-packages`` or ``bower_components`` folder, a virtualenv (holds
``pyvenv.cfg``) or a build/cache folder tagged with ``CACHEDIR.TAG`` (cargo's
``target/``, pytest's, ruff's...), nor in a hidden folder unless git tracks it
(``.github/`` in a repository); symlinked folders are never entered (no loops).
Paths are root-relative POSIX strings (undecodable name bytes kept as surrogates),
shallow files first, names sorted; ``None`` is yielded now and then so a caller on the
event loop can pace itself.

*Per-file rules* (``check``): not a secret name (``SecretFilter.is_secret_path``:
``.env*``, ``*.pem``, ``id_rsa*``...), a regular file, a symbolic link only when it
resolves inside the root, readable, at most ``max_file_bytes``, and (when the content
is probed) not binary. ``accepts`` answers the listing's rules for one path (file
events, open documents) without listing.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import Any

import pathspec

from lsp_server.core.secrets import SecretFilter
from lsp_server.core.text import BINARY_PROBE, looks_binary
from lsp_server.syntax.languages import EXTENSIONS

log = logging.getLogger(__name__)

SKIP_DIRS = frozenset({"node_modules", "__pycache__", "site-packages", "bower_components"})
VENV_MARKER = "pyvenv.cfg"
CACHE_MARKER = "CACHEDIR.TAG"  # https://bford.info/cachedir/: build output and caches
IGNORE_FILE = ".gitignore"
GIT_TIMEOUT_S = 60.0
PACE_EVERY = 256  # listed paths between two ``None`` in git mode


@dataclass(frozen=True, slots=True)
class Candidate:
    """A file that passed ``check``: root-relative POSIX path and its stat."""

    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """What ``check`` says of one file: a candidate, or the reason it is left out."""

    candidate: Candidate | None
    reason: str = ""   # "", "secret", "outside", "not_file", "unreadable", "too_large", "binary"
    detail: str = ""   # the OS error, for "unreadable"
    size: int = 0

    @property
    def note(self) -> str:
        """The one-line reason a review reports ("" when there is nothing to say)."""
        return {
            "secret": "secret file, never sent",
            "outside": "symbolic link out of the folder, not followed",
            "unreadable": f"unreadable ({self.detail})",
            "too_large": f"{self.size} bytes, above the size limit",
            "binary": "binary",
        }.get(self.reason, "")


@dataclass(frozen=True, slots=True)
class GitList:
    """git's answer for a root: tracked files and untracked-but-not-ignored ones."""

    tracked: frozenset[str]
    others: frozenset[str]


class WorkspaceFiles:
    """The files of one project root (ignore specs and folder verdicts are cached)."""

    def __init__(self, root: Path, secrets: SecretFilter, *, max_file_bytes: int,
                 extensions: Mapping[str, str] = EXTENSIONS) -> None:
        self.root = Path(os.path.realpath(root))
        self._secrets = secrets
        self.max_file_bytes = max_file_bytes
        self._extensions = extensions
        self._specs: dict[str, Any] = {}
        self._dirs: dict[str, bool] = {}
        self._accepted: dict[tuple[str, bool], bool] = {}
        self._tracked: frozenset[str] = frozenset()       # git's tracked files, last listing
        self._tracked_dirs: frozenset[str] = frozenset()  # and their folders
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

    # -- listing ----------------------------------------------------------------------
    def git_list(self, under: str = "") -> GitList | None:
        """git's file list under the root-relative folder ``under`` (blocking, touches no
        state: run it off the event loop), or None outside a git work tree or when git fails."""
        spec = ["--", under] if under else []
        tracked = self._git(["ls-files", "-z", "--cached", *spec])
        others = self._git(["ls-files", "-z", "--others", "--exclude-standard", *spec])
        if tracked is None or others is None:
            return None
        return GitList(frozenset(tracked), frozenset(others))

    def _git(self, args: list[str]) -> list[str] | None:
        command = ["git", "-c", "core.quotepath=off", "--literal-pathspecs", *args]
        try:
            done = subprocess.run(command, cwd=self.root, capture_output=True, check=False, timeout=GIT_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.info("files of %s: git unavailable (%s), walking the folder", self.root, exc)
            return None
        if done.returncode != 0:
            return None  # not a work tree (the usual case outside git): walk
        # names that end in "/" are nested repositories git does not list into
        return [n for n in os.fsdecode(done.stdout).split("\0") if n and not n.endswith("/")]

    def _remember_tracked(self, tracked: frozenset[str]) -> None:
        folders = {rel.rsplit("/", 1)[0] for rel in tracked if "/" in rel}
        parents = set()
        for folder in folders:
            parts = folder.split("/")
            parents.update("/".join(parts[:depth]) for depth in range(1, len(parts) + 1))
        if tracked != self._tracked:
            self._tracked, self._tracked_dirs = tracked, frozenset(parents)
            self.invalidate()

    def paths(self, under: str = "") -> Iterator[str | None]:
        """Every file of the project under the root-relative folder ``under`` (all of it by
        default): git's list in a work tree, else the walk. ``None`` now and then."""
        yield from self.paths_from(self.git_list(under), under)

    def paths_from(self, listed: GitList | None, under: str = "") -> Iterator[str | None]:
        """Like ``paths`` with git's list already taken (``git_list``); None means walk."""
        if listed is None:
            yield from self._walk_paths(under)
            return
        self._remember_tracked(listed.tracked if not under else self._tracked | listed.tracked)
        for count, rel in enumerate(sorted(listed.tracked | listed.others, key=_shallow_first), 1):
            folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
            if self._folders_ok(folder, judge_ignored=False):
                yield rel
            if count % PACE_EVERY == 0:
                yield None
        yield None

    def _walk_paths(self, under: str) -> Iterator[str | None]:
        if under and not self._folders_ok(under, judge_ignored=True):
            return
        queue: deque[str] = deque([under])
        while queue:
            base = queue.popleft()
            try:
                with os.scandir(self.root / base if base else self.root) as scan:
                    entries = sorted(scan, key=lambda e: e.name)
            except OSError as exc:
                log.info("files: cannot list %s: %s", base or ".", exc)
                yield None
                continue
            for entry in entries:
                rel = f"{base}/{entry.name}" if base else entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if self._dir_ok(rel, judge_ignored=True):
                            queue.append(rel)
                        continue
                except OSError:
                    continue
                if not self._ignored(rel, is_dir=False):
                    yield rel
            yield None

    # -- rules ------------------------------------------------------------------------
    def supported(self, rel: str) -> bool:
        return os.path.splitext(rel)[1].lower() in self._extensions

    def accepts(self, rel: str, *, any_extension: bool = False) -> bool:
        """Whether a root-relative file passes the listing's rules and is not a secret (size
        and content aside; cached until ``invalidate``: asked on every keystroke)."""
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
        folder = rel.rsplit("/", 1)[0] if "/" in rel else ""
        return self._folders_ok(folder, judge_ignored=True) and not self._ignored(rel, is_dir=False)

    def ignored(self, rel: str) -> bool:
        """Whether ignore rules (nested ``.gitignore`` included) leave out this root-relative
        file or a folder on its way (hidden and dependency folders are not judged here)."""
        parts = rel.split("/")
        return any(self._ignored("/".join(parts[:depth]), is_dir=True) for depth in range(1, len(parts))) \
            or self._ignored(rel, is_dir=False)

    def folder_ok(self, rel: str) -> bool:
        """Whether a root-relative folder may hold project files (not hidden unless git tracks
        it, ignored, a dependency folder, a virtualenv or a tagged cache)."""
        return self._dir_ok(rel, judge_ignored=True)

    def _folders_ok(self, folder: str, *, judge_ignored: bool) -> bool:
        """``folder`` and every folder above it pass ``_dir_ok``."""
        if not folder:
            return True
        parts = folder.split("/")
        return all(self._dir_ok("/".join(parts[:depth]), judge_ignored=judge_ignored)
                   for depth in range(1, len(parts) + 1))

    def _dir_ok(self, rel: str, *, judge_ignored: bool) -> bool:
        key = f"{rel}\0{judge_ignored}"
        known = self._dirs.get(key)
        if known is None:
            name = rel.rsplit("/", 1)[-1]
            folder = self.root / rel
            known = not (
                (name.startswith(".") and rel not in self._tracked_dirs) or name in SKIP_DIRS
                or os.path.exists(folder / VENV_MARKER) or os.path.exists(folder / CACHE_MARKER)
                or (judge_ignored and self._ignored(rel, is_dir=True))
            )
            self._dirs[key] = known
        return known

    def _ignored(self, rel: str, *, is_dir: bool) -> bool:
        if not is_dir and rel in self._tracked:
            return False  # git tracks it: an ignore rule does not apply
        if is_dir and rel in self._tracked_dirs:
            return False
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
                log.warning("files: cannot use the ignore rules in %s: %s", folder, exc)
        self._specs[base] = spec
        return spec

    # -- per-file rules ---------------------------------------------------------------
    def check(self, rel: str, *, content: bool = False) -> Verdict:
        """The per-file rules for a listed (or named) root-relative file; ``content`` also
        reads its start to leave out binary files."""
        if self._secrets.is_secret_path(rel):
            return Verdict(None, "secret")
        path = self.root / rel
        try:
            if os.path.islink(path) and not self._inside(str(path)):
                return Verdict(None, "outside")
            stat = os.stat(path)
        except OSError as exc:
            if not os.path.lexists(path):
                return Verdict(None, "not_file")  # listed by git, deleted in the work tree
            return Verdict(None, "unreadable", exc.strerror or str(exc))
        if not S_ISREG(stat.st_mode):
            return Verdict(None, "not_file")
        if stat.st_size > self.max_file_bytes:
            return Verdict(None, "too_large", size=stat.st_size)
        if content:
            try:
                with open(path, "rb") as handle:
                    head = handle.read(BINARY_PROBE)
            except OSError as exc:
                return Verdict(None, "unreadable", exc.strerror or str(exc))
            if looks_binary(head):
                return Verdict(None, "binary", size=stat.st_size)
        return Verdict(Candidate(rel, stat.st_size, stat.st_mtime_ns), size=stat.st_size)

    def reviewable(self, rel: str, notes: list[str]) -> bool:
        """Whether a file passes ``check`` with its content probed (what a review reads);
        when not, its one-line note, if it has one, goes to ``notes`` as ``"rel: note"``."""
        verdict = self.check(rel, content=True)
        if verdict.candidate is None and verdict.note:
            notes.append(f"{rel}: {verdict.note}")
        return verdict.candidate is not None

    # -- the index's walk -------------------------------------------------------------
    def walk(self, listed: GitList | None = None) -> Iterator[Candidate | None]:
        """Indexable files (supported extension, ``check`` passed), shallow first, from
        ``listed`` (``git_list``, taken off the event loop) or the walk; ``None`` now and
        then. ``skipped`` counts what ``check`` left out, by reason."""
        self.skipped = Counter()
        for rel in self.paths_from(listed):
            if rel is None:
                yield None
                continue
            if not self.supported(rel):
                continue
            verdict = self.check(rel)
            if verdict.candidate is None:
                if verdict.reason != "not_file":
                    self.skipped[verdict.reason] += 1
                continue
            yield verdict.candidate

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


def _shallow_first(rel: str) -> tuple[int, list[str]]:
    """The walk's order: by depth, then folder by folder, names sorted."""
    parts = rel.split("/")
    return len(parts), parts
