"""Where ``mistral-lsp review --output PATH`` writes, for every kind of PATH (issue 12 item 11).

A regular (or missing) file is replaced atomically and keeps its mode; a device, a FIFO
and the process's own stdout/stderr are written straight into, never replaced; a
symbolic link is followed (the link stays a link); a folder is refused.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lsp_server.ci.output import OutputError, stream_of, write_report

REPORT = "line 1\nline 2 é 🙂\n"


def test_a_new_file_gets_the_usual_mode_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_report(tmp_path / "sub" / "new.txt", REPORT)
    finally:
        os.umask(old)
    target = tmp_path / "sub" / "new.txt"
    assert target.read_text(encoding="utf-8") == REPORT
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["new.txt"]


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o664, 0o755])
def test_an_existing_file_keeps_its_mode(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "report.sarif"
    target.write_text("old", encoding="utf-8")
    target.chmod(mode)
    inode = target.stat().st_ino
    write_report(target, REPORT)
    assert target.read_text(encoding="utf-8") == REPORT
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert target.stat().st_ino != inode  # replaced whole (a reader never sees half a report)


def test_a_symbolic_link_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "reports" / "review.json"
    real.parent.mkdir()
    real.write_text("old", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    write_report(link, REPORT)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text(encoding="utf-8") == REPORT and stat.S_IMODE(real.stat().st_mode) == 0o640
    dangling = tmp_path / "next.json"
    dangling.symlink_to(tmp_path / "reports" / "next-target.json")
    write_report(dangling, REPORT)
    assert dangling.is_symlink() and (tmp_path / "reports" / "next-target.json").read_text() == REPORT


def test_a_fifo_is_written_into_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text(encoding="utf-8")))
    reader.start()
    write_report(fifo, REPORT)
    reader.join(timeout=30)
    assert received == [REPORT]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_devices_are_written_into_not_replaced() -> None:
    write_report(Path("/dev/null"), REPORT)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    if Path("/dev/full").exists():
        with pytest.raises(OSError):  # "No space left on device": an error, not a regular file in its place
            write_report(Path("/dev/full"), REPORT)
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a folder"):
        write_report(tmp_path, REPORT)


def test_stdout_and_stderr_names() -> None:
    assert [stream_of(Path(p)) for p in ("-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1", "/dev/stderr",
                                          "/dev/fd/2", "/dev//stdout", "out.txt", "/dev/null")] == [
        1, 1, 1, 1, 2, 2, 1, None, None]


@pytest.mark.parametrize("name,fd", [("/dev/stdout", 1), ("/dev/stderr", 2), ("-", 1)])
def test_dev_std_goes_to_the_process_stream_even_when_it_is_a_file(tmp_path: Path, name: str, fd: int) -> None:
    """``-o /dev/stdout >> log``: appended to the log, which is neither replaced nor truncated."""
    log = tmp_path / "log.txt"
    log.write_text("earlier\n", encoding="utf-8")
    inode = log.stat().st_ino
    code = ("import sys; from pathlib import Path; from lsp_server.ci.output import write_report; "
            f"print('before', file=sys.stdout if {fd} == 1 else sys.stderr, flush=True); "
            f"write_report(Path({name!r}), 'the report\\n')")
    with open(log, "a", encoding="utf-8") as handle:
        streams = {"stdout": handle} if fd == 1 else {"stderr": handle}
        subprocess.run([sys.executable, "-c", code], check=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}, **streams)
    assert log.read_text(encoding="utf-8") == "earlier\nbefore\nthe report\n"
    assert log.stat().st_ino == inode


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_run_as_root_an_existing_file_keeps_its_owner(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.write_text("old", encoding="utf-8")
    os.chown(target, 4321, 4322)
    write_report(target, REPORT)
    assert (target.stat().st_uid, target.stat().st_gid) == (4321, 4322)
