"""Where a rendered report goes: stdout, a file written whole or not at all, the step summary.

``--output PATH`` means different things for different kinds of PATH, and each is
handled as its kind wants:

- a regular file, or no file yet: written whole or not at all (a temporary file in
  the same folder, then a rename), keeping the old file's permission bits (and its
  owner, where the process may set it); a new file gets the usual ``0666 & ~umask``;
- ``-``, ``/dev/stdout``, ``/dev/fd/1``, ``/proc/self/fd/1`` (and the same for 2):
  written to this process's own stdout (stderr), whatever it is redirected to;
- a device (``/dev/null``, ``/dev/full``), a FIFO or a socket: written straight
  into it, never replaced;
- a symbolic link: followed, and its target written as above (the link stays);
- a folder: refused with a clear error.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import TextIO

_STREAMS = {
    "-": 1, "/dev/stdout": 1, "/dev/fd/1": 1, "/proc/self/fd/1": 1,
    "/dev/stderr": 2, "/dev/fd/2": 2, "/proc/self/fd/2": 2,
}


class OutputError(OSError):
    """The report cannot go where it was asked to (the message says why)."""


def stream_of(path: Path) -> int | None:
    """1 or 2 if ``path`` names this process's stdout or stderr, else None."""
    return _STREAMS.get(str(path)) or _STREAMS.get(os.path.normpath(str(path)))


def _write_stream(handle: TextIO, text: str) -> None:
    handle.write(text if not text or text.endswith("\n") else text + "\n")
    handle.flush()


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to the regular file ``path`` (or a new one) through a temporary file
    in the same folder and a rename, so a reader (or a killed run) never sees half a report."""
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        old: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        old = None
    for attempt in range(100):
        tmp = folder / f".{path.name}.{os.getpid()}.{attempt}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
            break
        except FileExistsError:
            continue
    else:
        raise OutputError(f"{path}: cannot create a temporary file in {folder}")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            if old is not None:
                os.fchmod(handle.fileno(), stat.S_IMODE(old.st_mode))
                try:
                    os.fchown(handle.fileno(), old.st_uid, old.st_gid)
                except OSError:
                    pass  # only root may give a file away; the mode is kept either way
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_report(path: Path, text: str) -> None:
    """Write a report to ``path`` the way its kind of file wants (see the module docstring)."""
    stream = stream_of(path)
    if stream is not None:
        _write_stream(sys.stdout if stream == 1 else sys.stderr, text)
        return
    try:
        mode: int | None = os.stat(path).st_mode  # through any symbolic links
    except FileNotFoundError:
        mode = None
    if mode is None or stat.S_ISREG(mode):  # a link is followed: its target is replaced, not the link
        write_atomic(Path(os.path.realpath(path)) if path.is_symlink() else path, text)
        return
    if stat.S_ISDIR(mode):
        raise OutputError(f"{path} is a folder; --output wants a file")
    with open(path, "w", encoding="utf-8", newline="\n") as handle:  # a device, FIFO or socket
        handle.write(text)


def append_step_summary(markdown: str, environ: dict[str, str] | None = None) -> bool:
    """Append to ``$GITHUB_STEP_SUMMARY`` when the runner set it; True if written."""
    target = (environ if environ is not None else os.environ).get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return True


def emit(text: str, output: Path | None) -> None:
    """The report to ``output`` or to stdout."""
    if output is not None:
        write_report(output, text)
        return
    _write_stream(sys.stdout, text)
