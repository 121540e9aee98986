"""Shared pieces of the end-to-end tests: the vLLM stand-in and a real LSP client.

The server runs as a subprocess (``python -m lsp_server serve``) driven by
pytest-lsp's client with recorded VS Code / Neovim capabilities, and talks to the
stand-in over loopback HTTP, exactly as it would to vLLM.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Union

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.standin import StandIn

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def standin() -> Any:
    with StandIn() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh_standin(request: pytest.FixtureRequest) -> None:
    if "standin" in request.fixturenames:
        request.getfixturevalue("standin").reset()


def server_env(standin: StandIn, cache_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MISTRAL_LSP_")}
    env.update(
        {
            "MISTRAL_LSP_ENDPOINT": standin.base_url,
            "MISTRAL_LSP_CACHE_DIR": str(cache_dir),
            "MISTRAL_LSP_LOG_LEVEL": "debug",
            # reviews only on command unless a test asks for more: scripted replies are for completions
            "MISTRAL_LSP_REVIEW_TRIGGERS": "manual",
            # the stand-in runs in the test process: on a loaded machine its accept can lag the
            # default 1.5 s connect timeout, which would read as "the model server is down"
            "MISTRAL_LSP_CONNECT_TIMEOUT": "10",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


def capabilities(name: str, *, inline: bool) -> types.ClientCapabilities:
    caps = client_capabilities(name)
    if inline:
        caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    return caps


async def start_client(
    standin: StandIn,
    cache_dir: Path,
    caps: types.ClientCapabilities,
    *,
    init_options: dict[str, Any] | None = None,
    root: Path | None = None,
    env: dict[str, str] | None = None,
) -> tuple[LanguageClient, types.InitializeResult]:
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "lsp_server", "serve"],
        server_env=env or server_env(standin, cache_dir),
    )
    client = await config.start()
    fix_code_action_union(client)
    root = root or cache_dir
    result = await client.initialize_session(
        types.InitializeParams(
            capabilities=caps,
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="ws")],
            initialization_options=init_options or {},
        )
    )
    return client, result


def fix_code_action_union(client: LanguageClient) -> None:
    """lsprotocol reads any code action with a ``command`` field as a Command: tell them apart by
    whether ``command`` is a string (a Command) or an object (a CodeAction's command)."""
    converter = client.protocol._converter

    def hook(value: Any, _: Any) -> Any:
        if isinstance(value.get("command"), str):
            return converter.structure(value, types.Command)
        return converter.structure(value, types.CodeAction)

    converter.register_structure_hook(Union[types.Command, types.CodeAction], hook)


async def stop_client(client: LanguageClient) -> None:
    await client.shutdown_session()


def open_doc(client: LanguageClient, uri: str, text: str, language: str, version: int = 1) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language, version=version, text=text)
        )
    )


def insert(client: LanguageClient, uri: str, version: int, line: int, character: int, text: str) -> None:
    at = types.Position(line=line, character=character)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=at, end=at), text=text)],
        )
    )


def inline_params(uri: str, line: int, character: int, *, invoked: bool = True) -> types.InlineCompletionParams:
    kind = types.InlineCompletionTriggerKind.Invoked if invoked else types.InlineCompletionTriggerKind.Automatic
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(trigger_kind=kind),
    )


async def inline(client: LanguageClient, uri: str, line: int, character: int, *, invoked: bool = True) -> list[str]:
    result = await client.text_document_inline_completion_async(inline_params(uri, line, character, invoked=invoked))
    items = result.items if isinstance(result, types.InlineCompletionList) else (result or [])
    return [item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value for item in items]


async def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return predicate()


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
