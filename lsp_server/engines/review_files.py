"""Which files of a folder to review: supported sources, minus ignored, secret and huge ones.

The ignore rules are the symbol index's (``index.walk.WorkspaceFiles``): every
``.gitignore`` on the way down and ``.git/info/exclude``, hidden folders,
``node_modules``/``__pycache__``/``site-packages`` and virtualenvs. Files must have a
supported extension, must not match the secret patterns, must be at most
``max_bytes`` and must not look binary. Every skipped file that looked like a
candidate gets a one-line reason (ignored files are simply not candidates).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from lsp_server.core.secrets import SecretFilter
from lsp_server.core.text import BINARY_PROBE, looks_binary
from lsp_server.index.walk import WorkspaceFiles
from lsp_server.syntax.images import DOCUMENT_EXTENSIONS, image_syntax, may_hold_images
from lsp_server.syntax.languages import EXTENSIONS

log = logging.getLogger(__name__)


@dataclass
class FileSelection:
    """The files to review, in path order, and the notes about the ones left out."""

    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    truncated: bool = False


def select_files(root: Path, secrets: SecretFilter, *, max_bytes: int, limit: int,
                 documents: bool = False) -> FileSelection:
    """Walk ``root`` and pick the files worth reviewing (at most ``limit``); with ``documents``,
    Markdown and reStructuredText files that show images too (their figures are checked)."""
    selection = FileSelection()
    rules = WorkspaceFiles(root, secrets, max_file_bytes=max_bytes)
    top = rules.root
    for folder, dirs, names in os.walk(top):
        base = Path(folder)
        rel_base = base.relative_to(top).as_posix()
        prefix = "" if rel_base == "." else rel_base + "/"
        dirs[:] = sorted(d for d in dirs if rules.folder_ok(prefix + d))
        for name in sorted(names):
            rel = prefix + name
            suffix = os.path.splitext(name)[1].lower()
            if suffix not in EXTENSIONS and not (documents and suffix in DOCUMENT_EXTENSIONS):
                continue
            path = root / rel  # under the root as given (``top`` has symlinks resolved)
            if not secrets.is_secret_path(rel) and not rules.accepts(rel, any_extension=True):  # extension judged above
                continue  # ignored: not a candidate
            if (base / name).is_symlink() and not rules.inside(rel):
                selection.skipped.append(f"{rel}: symbolic link out of the folder, not followed")
                continue
            reason = file_skip_reason(path, secrets, max_bytes)
            if reason:
                selection.skipped.append(f"{rel}: {reason}")
                continue
            if suffix not in EXTENSIONS and not shows_images(path):
                continue  # a document without images: no figure to check
            if len(selection.files) >= limit:
                selection.truncated = True
                return selection
            selection.files.append(path)
    return selection


def shows_images(path: Path) -> bool:
    """Whether a Markdown or reStructuredText file may show an image (a byte search, no parse):
    documents are reviewed for their figures only, so one without images is no candidate."""
    syntax = image_syntax(None, str(path))
    try:
        data = path.read_bytes()
    except OSError:
        return True  # the review says why it cannot read it
    return syntax is not None and may_hold_images(data, syntax)


def file_skip_reason(path: Path, secrets: SecretFilter, max_bytes: int) -> str:
    """Why a candidate file is not reviewed: secret, too big, unreadable or binary ("" if it is)."""
    if secrets.is_secret_path(str(path)):
        return "secret file, never sent"
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return f"{size} bytes, above the size limit"
        with path.open("rb") as handle:
            head = handle.read(BINARY_PROBE)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if looks_binary(head):
        return "binary"
    return ""


def read_source(path: Path) -> str | None:
    """A file's text as UTF-8 (undecodable bytes replaced), or None if unreadable."""
    try:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return None
