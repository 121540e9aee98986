"""Where an image reference points, and whether that file may be read: the path policy.

Only local files inside the workspace are ever read. ``ImageLocator.locate`` resolves a
reference's target relative to its document (an absolute-looking ``/img/a.png`` relative to the
``vision.siteRoot`` folder of the document's workspace folder, when that is set), with symlinks
resolved, and then refuses, with a reason:

- remote URLs (``http:``, ``https:``, ``//host/...``, any other scheme): never fetched;
- ``data:`` URIs (already inline, nothing to read) and empty targets;
- anything outside the workspace folders (``..``, absolute paths, symlinks pointing out); an
  absolute path that is inside a workspace folder is taken as a file path, any other as a site
  path (``vision.siteRoot``);
- files whose name matches the secret patterns (the written name or the resolved one);
- files ``.gitignore`` leaves out;
- files larger than ``vision.maxImageBytes``.

A query or fragment (``chart.png?v=2#x``) is dropped, and a percent-encoded path
(``my%20chart.png``) is tried decoded when the literal name does not exist.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from lsp_server.core.secrets import SecretFilter
from lsp_server.index.project_files import WorkspaceFiles

# Where the target can be read from:
#   local: a file inside the workspace that may be read (``path`` is set, ``exists`` says whether it is there);
#   remote / inline / outside / secret / ignored / too-large / unsupported: not read (``reason`` says why).
Kind = str


@dataclass(frozen=True)
class Located:
    """The outcome of resolving one image target."""

    kind: Kind
    reason: str = ""
    path: Path | None = None  # resolved, absolute (local files only)
    display: str = ""  # workspace-relative POSIX path, for messages
    exists: bool = False
    size: int = 0
    mtime_ns: int = 0

    @property
    def readable(self) -> bool:
        return self.kind == "local" and self.exists


class ImageLocator:
    """Resolves image targets for documents under a set of workspace folders."""

    def __init__(self, roots: list[Path], secrets: SecretFilter, *, site_root: str | None = None,
                 max_bytes: int = 20_000_000) -> None:
        self.roots = [Path(os.path.realpath(root)) for root in roots]
        self._secrets = secrets
        self._site_root = site_root.strip().strip("/") if site_root else None
        self._max_bytes = max_bytes
        self._files: dict[Path, WorkspaceFiles] = {}

    def _root_of(self, path: Path) -> Path | None:
        for root in sorted(self.roots, key=lambda r: len(r.parts), reverse=True):
            if path == root or root in path.parents:
                return root
        return None

    def _rules(self, root: Path) -> WorkspaceFiles:
        files = self._files.get(root)
        if files is None:
            files = self._files[root] = WorkspaceFiles(root, self._secrets, max_file_bytes=self._max_bytes)
        return files

    def forget_rules(self) -> None:
        """Re-read ``.gitignore`` files from now on (one changed)."""
        self._files.clear()

    def locate(self, target: str, document: str | Path) -> Located:
        """Resolve ``target`` as written in the document at ``document`` (an absolute path)."""
        text = target.strip()
        if not text:
            return Located("unsupported", "the image has no path")
        parsed = urlparse(text)
        scheme = parsed.scheme.lower()
        if scheme == "data":
            return Located("inline", "an inline data: image (not a file)")
        if text.startswith("//") or (scheme and len(scheme) > 1 and scheme != "file"):
            return Located("remote", f"a remote image ({scheme or 'protocol-relative'} URL) is never fetched")
        doc_path = Path(os.path.realpath(document))
        doc_root = self._root_of(doc_path)
        roots = self.roots or [doc_path.parent]  # no workspace folder: the document's own folder
        base_root = doc_root or (roots[0] if not self.roots else None)
        if scheme == "file":
            raw = unquote(parsed.path)
        else:
            raw = text.split("#", 1)[0].split("?", 1)[0]
        if not raw:
            return Located("unsupported", "the image has no path")
        site_path = scheme != "file" and raw.startswith("/") and not self._inside(Path(raw), roots)
        if site_path and (self._site_root is None or base_root is None):
            return Located("outside", "an absolute path outside the workspace: if it is a site path, set "
                                      "vision.siteRoot to the site's root folder in the workspace")

        def place(path: str) -> Path:
            if site_path and path.startswith("/"):
                assert base_root is not None and self._site_root is not None
                return base_root / self._site_root / path.lstrip("/")
            return Path(path) if os.path.isabs(path) else doc_path.parent / path

        candidates = [place(raw)]
        if scheme != "file" and unquote(raw) != raw:
            candidates.append(place(unquote(raw)))
        chosen = next((c for c in candidates if c.exists()), candidates[0])
        return self._check(chosen, roots)

    @staticmethod
    def _inside(path: Path, roots: list[Path]) -> bool:
        """Whether an absolute filesystem path lies in a workspace folder (symlinks resolved)."""
        resolved = Path(os.path.realpath(path))
        return any(resolved == root or root in resolved.parents for root in roots)

    def _check(self, candidate: Path, roots: list[Path]) -> Located:
        written_name = candidate.name
        resolved = Path(os.path.realpath(candidate))
        root = next((r for r in sorted(roots, key=lambda r: len(r.parts), reverse=True)
                     if resolved == r or r in resolved.parents), None)
        if root is None:
            return Located("outside", "the image is outside the workspace (it is never read)")
        display = resolved.relative_to(root).as_posix()
        if self._secrets.is_secret_path(written_name) or self._secrets.is_secret_path(resolved.name):
            return Located("secret", "the file name matches the secret patterns (it is never read)", display=display)
        if display and self._rules(root).ignored(display):
            return Located("ignored", ".gitignore leaves this file out (it is never read)", display=display)
        try:
            stat = resolved.stat()
        except OSError:
            return Located("local", "the file does not exist", path=resolved, display=display)
        if not resolved.is_file():
            return Located("local", "not a file", path=resolved, display=display)
        if stat.st_size > self._max_bytes:
            return Located("too-large", f"the file is {stat.st_size:,} bytes (vision.maxImageBytes is "
                                        f"{self._max_bytes:,}); it is not read", path=resolved, display=display,
                           exists=True, size=stat.st_size, mtime_ns=stat.st_mtime_ns)
        return Located("local", "", path=resolved, display=display, exists=True, size=stat.st_size,
                       mtime_ns=stat.st_mtime_ns)
