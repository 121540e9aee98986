"""Which files a headless review looks at, and a one-line note for each one it leaves out.

Inside a git work tree the candidates come from ``git ls-files`` (tracked plus
untracked-but-not-ignored: every ``.gitignore`` level, ``.git/info/exclude`` and the
global excludes are honoured); elsewhere from the same folder walk the editor's
workspace review uses (root ``.gitignore`` only). Then each candidate must be in a
supported language, not a secret, not above the size setting and not binary; a
Markdown or reStructuredText file (reviewed for its figures) must show an image.
Unsupported files are noted per extension (a repository has many), the others one
line each; documents without images are left out silently unless named.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lsp_server.ci.git import listed_files
from lsp_server.core.secrets import SecretFilter
from lsp_server.engines.review_files import file_skip_reason, select_files, shows_images
from lsp_server.syntax.images import DOCUMENT_EXTENSIONS
from lsp_server.syntax.languages import EXTENSIONS

_NO_WALK = frozenset({".git", "node_modules", "__pycache__"})


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
            in_git: bool, documents: bool = False) -> Candidates:
    """The reviewable files under ``paths`` (files or folders, all inside ``root``); with
    ``documents``, Markdown and reStructuredText files that show images too (their figures are
    checked; one without images is no candidate, and says so only when named)."""
    out = Candidates()
    named: list[Path] = []
    listed: list[Path] = []
    for path in paths:
        if path.is_file():
            named.append(path.resolve())
        elif in_git:
            listed.extend(listed_files(root, [path]))
        else:
            selection = select_files(path.resolve(), secrets, max_bytes=max_bytes, limit=10**9, documents=documents)
            listed.extend(selection.files)
            out.skipped.extend(selection.skipped)
    unsupported: Counter[str] = Counter()
    seen: set[Path] = set()
    for path in named + listed:
        if path in seen or any(part in _NO_WALK for part in path.relative_to(root).parts[:-1]):
            continue
        seen.add(path)
        suffix = os.path.splitext(path.name)[1].lower()
        if suffix not in EXTENSIONS and not (documents and suffix in DOCUMENT_EXTENSIONS):
            if path in named:
                out.skipped.append(f"{relative(root, path)}: unsupported language")
            else:
                unsupported[suffix or "(no extension)"] += 1
            continue
        if path.is_symlink():  # its target may be anywhere; the file itself is reviewed where it lives
            out.skipped.append(f"{relative(root, path)}: symbolic link, not followed")
            continue
        if not path.is_file():  # listed by git but deleted in the work tree
            continue
        reason = file_skip_reason(path, secrets, max_bytes)
        if reason:
            out.skipped.append(f"{relative(root, path)}: {reason}")
            continue
        if suffix not in EXTENSIONS and not shows_images(path):  # documents are reviewed for their figures
            if path in named:
                out.skipped.append(f"{relative(root, path)}: no image, so no figure to check")
            continue
        out.files.append(path)
    if unsupported:
        total = sum(unsupported.values())
        kinds = ", ".join(f"{ext} x{n}" for ext, n in sorted(unsupported.items(), key=lambda kv: (-kv[1], kv[0])))
        out.skipped.append(f"{total} file(s) in unsupported languages: {kinds}")
    out.files.sort()
    return out
