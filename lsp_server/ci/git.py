"""What the headless review asks git: the repository root and the changed lines.

(Which files exist is ``index.project_files``' answer, git's list included.)

All calls run ``git`` as a subprocess (no library: the CLI must work wherever git
does, including shallow CI clones). ``--diff REF`` compares the merge base of REF and
HEAD with the *working tree* (in CI the working tree is HEAD, so this is exactly
``git diff REF...``; locally it also covers uncommitted edits, which is what is
reviewed). ``--staged`` compares HEAD with the index, and the reviewed text is then
the staged blob, not the working file. Failures raise ``GitError`` with git's own
message, which the CLI reports as a usage error.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lsp_server.core.text import split_lines

_HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}


class GitError(Exception):
    """git failed or is missing; the message says what to do."""


def _git(args: Sequence[str], cwd: Path, *, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    try:
        done = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args], cwd=cwd, capture_output=True, check=False, timeout=120
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed (needed for --diff/--staged)") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {' '.join(args[:2])} took longer than 120 s") from exc
    if check and done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {' '.join(args)} failed: {reason[-1] if reason else f'exit {done.returncode}'}")
    return done


def repo_root(start: Path) -> Path | None:
    """The top folder of the git work tree holding ``start``, or None outside one (or without git)."""
    try:
        done = _git(["rev-parse", "--show-toplevel"], start, check=False)
    except GitError:
        return None
    if done.returncode != 0:
        return None
    return Path(done.stdout.decode("utf-8", "surrogateescape").strip()).resolve()


@dataclass
class ChangedLines:
    """Per file (path relative to the root, POSIX): the 0-based lines added or changed."""

    base: str  # what was compared: "REF (merge base abc1234)" or "staged"
    files: dict[str, set[int]] = field(default_factory=dict)
    staged: bool = False
    whole: set[str] = field(default_factory=set)  # files that are new as a whole (untracked)

    def touches(self, rel: str) -> bool:
        return rel in self.whole or bool(self.files.get(rel))

    def changed(self, rel: str, rows: Iterable[int]) -> bool:
        """True if any of the 0-based lines ``rows`` is new or changed in ``rel``."""
        if rel in self.whole:
            return True
        changed = self.files.get(rel)
        return bool(changed) and any(row in changed for row in rows)

    def renumber(self, rel: str, text: str) -> None:
        """Take ``rel``'s changed lines from git's numbering to the rows of ``text`` (its
        reviewed content; see ``rows_of_git_lines``). Once per file, before ``changed``."""
        if rel in self.files:
            self.files[rel] = rows_of_git_lines(text, self.files[rel])


def _unquote(name: str) -> str:
    """A path as git prints it in a diff header (C-quoted when it has odd characters)."""
    if not (name.startswith('"') and name.endswith('"')):
        return name
    body, out, raw = name[1:-1], bytearray(), 0
    while raw < len(body):
        char = body[raw]
        if char == "\\" and raw + 1 < len(body):
            nxt = body[raw + 1]
            if nxt in "01234567":
                out.append(int(body[raw + 1:raw + 4], 8))
                raw += 4
                continue
            out.extend(_ESCAPES.get(nxt, nxt).encode())
            raw += 2
            continue
        out.extend(char.encode("utf-8", "surrogateescape"))
        raw += 1
    return out.decode("utf-8", "surrogateescape")


def parse_unified_zero(patch: str) -> dict[str, set[int]]:
    """Added/changed lines (0-based, new side, git's numbering) per file from ``git diff -U0``.

    The patch is split at ``\\n`` only, as git writes it (a form feed, ``\\x85`` or lone ``\\r``
    in a changed line is that line's content), and the lines of each hunk are skipped by
    its counts, so a changed line reading ``++ x`` or ``@@ -1 +1 @@`` is never a header.
    """
    files: dict[str, set[int]] = {}
    current: set[int] | None = None
    pending = 0  # "-"/"+" lines still to come in the current hunk
    for line in patch.split("\n"):
        if pending and line[:1] in ("-", "+"):
            pending -= 1
            continue
        if line.startswith("\\"):  # "\ No newline at end of file"
            continue
        pending = 0
        if line.startswith("+++ "):
            target = line[4:].rstrip("\t")
            if target == "/dev/null":
                current = None  # a deleted file: nothing to review
                continue
            target = _unquote(target)
            current = files.setdefault(target[2:] if target.startswith("b/") else target, set())
            continue
        match = _HUNK.match(line)
        if match:
            old, start, count = int(match.group(1) or "1"), int(match.group(2)), int(match.group(3) or "1")
            pending = old + count
            if current is not None:
                current.update(range(start - 1, start - 1 + count))
    return files


def rows_of_git_lines(text: str, lines: Iterable[int]) -> set[int]:
    """Git's 0-based line numbers in ``text`` as the rows this review (and LSP) counts.

    git ends a line at ``\\n`` only; a lone ``\\r`` ends a line too in LSP, so one of
    git's lines holding lone CRs is several rows, and every one of them is taken as
    changed (git cannot say which). Without a lone CR the numbers are the same.
    """
    wanted = set(lines)
    if text.count("\r") == text.count("\r\n"):
        return wanted
    rows: set[int] = set()
    row = 0
    pieces = text.split("\n")
    for number, piece in enumerate(pieces):
        if number < len(pieces) - 1 and piece.endswith("\r"):
            piece = piece[:-1]  # the CR of a CR LF pair
        count = len(split_lines(piece))
        if number in wanted:
            rows.update(range(row, row + count))
        row += count
    return rows


def diff_since(root: Path, ref: str) -> ChangedLines:
    """Lines changed in the working tree since the merge base of ``ref`` and HEAD."""
    if _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root, check=False).returncode != 0:
        raise GitError(f"--diff {ref}: no such commit here (in a shallow CI clone, fetch it first, "
                       f"e.g. git fetch --depth=50 origin {ref.removeprefix('origin/')})")
    merge = _git(["merge-base", ref, "HEAD"], root, check=False)
    if merge.returncode == 0:
        base = merge.stdout.decode().strip()
        label = f"{ref} (merge base {base[:10]})"
    else:  # shallow clone without the common ancestor: compare with REF itself
        base, label = ref, f"{ref} (no merge base in this clone: compared with {ref} itself)"
    patch = _git(["diff", "-U0", "--no-color", "--no-ext-diff", "--find-renames", base, "--"], root)
    files = parse_unified_zero(patch.stdout.decode("utf-8", "surrogateescape"))
    changed = ChangedLines(label, files)
    changed.whole = set(_untracked(root)) - set(files)  # new files not yet added: every line is new
    return changed


def diff_staged(root: Path) -> ChangedLines:
    """Lines changed in the index compared with HEAD (all lines of a new repository's files)."""
    # Without a HEAD yet (a first commit), git compares the index with the empty tree.
    patch = _git(["diff", "--cached", "-U0", "--no-color", "--no-ext-diff", "--find-renames", "--"], root)
    return ChangedLines("staged", parse_unified_zero(patch.stdout.decode("utf-8", "surrogateescape")), staged=True)


def _untracked(root: Path) -> list[str]:
    done = _git(["ls-files", "-z", "--others", "--exclude-standard"], root)
    return [n for n in done.stdout.decode("utf-8", "surrogateescape").split("\0") if n]


def staged_text(root: Path, rel: str) -> bytes | None:
    """The staged content of ``rel`` (what a commit would contain), or None if not in the index."""
    done = _git(["show", f":{rel}"], root, check=False)
    return done.stdout if done.returncode == 0 else None
