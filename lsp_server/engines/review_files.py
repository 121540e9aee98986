"""Which files of a folder the editor's workspace review reviews.

Which files exist is ``index.project_files.WorkspaceFiles``' answer (git's list in a
work tree, else the walk with every nested ``.gitignore``; hidden, dependency, virtualenv
and cache folders left out), and so are the per-file rules (secret names, symbolic links
out of the folder, size, unreadable, binary). This module keeps the review's own
filters: a supported language (with ``documents``, also a Markdown or reStructuredText
file that shows an image: it is reviewed for its figures), and at most ``limit`` files.
Every skipped file that looked like a candidate gets a one-line reason (ignored files
and documents without images are simply not candidates).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lsp_server.core.secrets import SecretFilter
from lsp_server.index.project_files import WorkspaceFiles
from lsp_server.syntax.images import DOCUMENT_EXTENSIONS, image_syntax, may_hold_images
from lsp_server.syntax.languages import EXTENSIONS


@dataclass
class FileSelection:
    """The files to review, in listing order (shallow first), and notes about the ones left out."""

    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    truncated: bool = False


def select_files(root: Path, secrets: SecretFilter, *, max_bytes: int, limit: int,
                 documents: bool = False) -> FileSelection:
    """The files of the project at ``root`` worth reviewing (at most ``limit``), as paths
    under ``root`` as given; with ``documents``, Markdown and reStructuredText files that
    show images too (their figures are checked)."""
    selection = FileSelection()
    files = WorkspaceFiles(root, secrets, max_file_bytes=max_bytes, extensions=EXTENSIONS)
    for rel in files.paths():
        if rel is None:
            continue
        source = files.supported(rel)
        if not (source or (documents and is_document(rel))) or not files.reviewable(rel, selection.skipped):
            continue
        if not source and not shows_images(root / rel):
            continue  # a document without images: no figure to check
        if len(selection.files) >= limit:
            selection.truncated = True
            return selection
        selection.files.append(root / rel)
    return selection


def is_document(rel: str) -> bool:
    """Whether a file is a Markdown or reStructuredText document (reviewed for its figures)."""
    return os.path.splitext(rel)[1].lower() in DOCUMENT_EXTENSIONS


def shows_images(path: Path) -> bool:
    """Whether a Markdown or reStructuredText file may show an image (a byte search, no parse):
    documents are reviewed for their figures only, so one without images is no candidate."""
    syntax = image_syntax(None, str(path))
    try:
        data = path.read_bytes()
    except OSError:
        return True  # the review says why it cannot read it
    return syntax is not None and may_hold_images(data, syntax)


def read_source(path: Path) -> str | None:
    """A file's text as UTF-8 (undecodable bytes replaced), or None if unreadable."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None
