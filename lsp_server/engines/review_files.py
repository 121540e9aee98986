"""Which files of a folder to review: supported sources, minus ignored, secret and huge ones.

The walk skips ``.git``, hidden folders, ``node_modules`` and ``__pycache__``, and
whatever the root's ``.gitignore`` ignores; files must have a supported extension,
must not match the secret patterns, must be at most ``max_bytes`` and must not look
binary. Every skipped file that looked like a candidate gets a one-line reason.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsp_server.core.secrets import SecretFilter
from lsp_server.syntax.languages import EXTENSIONS

log = logging.getLogger(__name__)

_SKIP_DIRS = frozenset({"node_modules", "__pycache__"})


@dataclass
class FileSelection:
    """The files to review, in path order, and the notes about the ones left out."""

    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    truncated: bool = False


def _ignore_spec(root: Path) -> Any:
    gitignore = root / ".gitignore"
    if not gitignore.is_file():
        return None
    try:
        import pathspec

        return pathspec.GitIgnoreSpec.from_lines(gitignore.read_text(encoding="utf-8").splitlines())
    except Exception as exc:  # noqa: BLE001 - a bad .gitignore only costs precision
        log.warning("cannot use %s: %s", gitignore, exc)
        return None


def select_files(root: Path, secrets: SecretFilter, *, max_bytes: int, limit: int) -> FileSelection:
    """Walk ``root`` and pick the files worth reviewing (at most ``limit``)."""
    selection = FileSelection()
    spec = _ignore_spec(root)
    for folder, dirs, names in os.walk(root):
        base = Path(folder)
        dirs[:] = sorted(
            d for d in dirs
            if not d.startswith(".") and d not in _SKIP_DIRS
            and not (spec is not None and spec.match_file((base / d).relative_to(root).as_posix() + "/"))
        )
        for name in sorted(names):
            path = base / name
            rel = path.relative_to(root).as_posix()
            if os.path.splitext(name)[1].lower() not in EXTENSIONS:
                continue
            if spec is not None and spec.match_file(rel):
                continue
            reason = file_skip_reason(path, secrets, max_bytes)
            if reason:
                selection.skipped.append(f"{rel}: {reason}")
                continue
            if len(selection.files) >= limit:
                selection.truncated = True
                return selection
            selection.files.append(path)
    return selection


def file_skip_reason(path: Path, secrets: SecretFilter, max_bytes: int) -> str:
    """Why a candidate file is not reviewed: secret, too big, unreadable or binary ("" if it is)."""
    if secrets.is_secret_path(str(path)):
        return "secret file, never sent"
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return f"{size} bytes, above the size limit"
        with path.open("rb") as handle:
            head = handle.read(8192)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if b"\x00" in head:
        return "binary"
    return ""


def read_source(path: Path) -> str | None:
    """A file's text as UTF-8 (undecodable bytes replaced), or None if unreadable."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None
