"""Which files of a folder the editor's workspace review reviews.

Which files exist is ``index.project_files.WorkspaceFiles``' answer (git's list in a
work tree, else the walk with every nested ``.gitignore``; hidden, dependency, virtualenv
and cache folders left out), and so are the per-file rules (secret names, symbolic links
out of the folder, size, unreadable, binary). This module keeps the review's own
filters: a supported language, and at most ``limit`` files. Every skipped file that
looked like a candidate gets a one-line reason (ignored files are simply not candidates).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lsp_server.core.secrets import SecretFilter
from lsp_server.index.project_files import WorkspaceFiles
from lsp_server.syntax.languages import EXTENSIONS


@dataclass
class FileSelection:
    """The files to review, in listing order (shallow first), and notes about the ones left out."""

    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    truncated: bool = False


def select_files(root: Path, secrets: SecretFilter, *, max_bytes: int, limit: int) -> FileSelection:
    """The files of the project at ``root`` worth reviewing (at most ``limit``), as paths
    under ``root`` as given."""
    selection = FileSelection()
    files = WorkspaceFiles(root, secrets, max_file_bytes=max_bytes, extensions=EXTENSIONS)
    for rel in files.paths():
        if rel is None or not files.supported(rel) or not files.reviewable(rel, selection.skipped):
            continue
        if len(selection.files) >= limit:
            selection.truncated = True
            return selection
        selection.files.append(root / rel)
    return selection


def read_source(path: Path) -> str | None:
    """A file's text as UTF-8 (undecodable bytes replaced), or None if unreadable."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None
