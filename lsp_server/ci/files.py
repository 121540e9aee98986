"""Which files a headless review looks at, and a one-line note for each one it leaves out.

Which files exist is ``index.project_files.WorkspaceFiles``' answer, as for the symbol
index and the editor's workspace review: inside a git work tree git's list (tracked plus
untracked-but-not-ignored: every ``.gitignore`` level, ``.git/info/exclude`` and the
global excludes), elsewhere the walk with the same rules (nested ``.gitignore`` files
included); hidden, dependency, virtualenv and cache folders are left out. A file named
on the command line is taken as named. Then each candidate must pass the per-file rules
(not a secret, no symbolic link out of the root, not above the size setting, readable,
not binary) and, this module's own filter, be in a supported language or, with
``documents``, be a Markdown or reStructuredText file that shows an image (reviewed for
its figures). Unsupported files are noted per extension (a repository has many), the
others one line each; documents without images are left out silently unless named.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lsp_server.core.secrets import SecretFilter
from lsp_server.engines.review_files import is_document, shows_images
from lsp_server.index.project_files import WorkspaceFiles
from lsp_server.syntax.languages import EXTENSIONS


@dataclass
class Candidates:
    """Files to review (absolute, sorted, unique) and notes on the ones skipped."""

    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def relative(root: Path, path: Path) -> str:
    """``path`` relative to ``root`` as a POSIX path (the form every report uses)."""
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def collect(root: Path, paths: Sequence[Path], secrets: SecretFilter, *, max_bytes: int,
            documents: bool = False) -> Candidates:
    """The reviewable files under ``paths`` (files or folders, all inside ``root``); with
    ``documents``, Markdown and reStructuredText files that show images too (their figures are
    checked; one without images is no candidate, and says so only when named)."""
    out = Candidates()
    project = WorkspaceFiles(root, secrets, max_file_bytes=max_bytes, extensions=EXTENSIONS)
    named: list[str] = []
    listed: list[str] = []
    for path in paths:
        rel = _under(root, path)
        if path.is_file():
            named.append(rel)
        else:
            listed.extend(r for r in project.paths(rel) if r is not None)
    unsupported: Counter[str] = Counter()
    seen: set[str] = set()
    for rel in named + listed:
        if rel in seen:
            continue
        seen.add(rel)
        source = project.supported(rel)
        if not source and not (documents and is_document(rel)):
            if rel in named:
                out.skipped.append(f"{rel}: unsupported language")
            else:
                suffix = os.path.splitext(rel)[1].lower()
                unsupported[suffix or "(no extension)"] += 1
            continue
        if not project.reviewable(rel, out.skipped):
            continue
        if not source and not shows_images(root / rel):  # documents are reviewed for their figures
            if rel in named:
                out.skipped.append(f"{rel}: no image, so no figure to check")
            continue
        out.files.append(root / rel)
    if unsupported:
        total = sum(unsupported.values())
        kinds = ", ".join(f"{ext} x{n}" for ext, n in sorted(unsupported.items(), key=lambda kv: (-kv[1], kv[0])))
        out.skipped.append(f"{total} file(s) in unsupported languages: {kinds}")
    out.files.sort()
    return out


def _under(root: Path, path: Path) -> str:
    """``path`` (inside ``root``, symbolic links in it kept) as a root-relative POSIX path
    ("" for the root itself)."""
    try:
        rel = Path(os.path.normpath(path)).relative_to(root).as_posix()
    except ValueError:
        rel = path.resolve().relative_to(root).as_posix()
    return "" if rel == "." else rel
