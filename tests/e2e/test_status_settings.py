"""The status readout shows the settings in use from the first moment, and is pushed when it changes.

Issue 17 item 18: a status item read the built-in default endpoint for 30 s while the workspace's
configured one was already in use. The clients now send their settings in initializationOptions
too (so the server starts with them), the configuration section the client answers replaces those
options (a removed setting is gone), and a client that asks for it gets ``mistral-lsp/status``
the moment the settings or the model state change. Item 23: the routine "Cancel notification for
unknown message id" is not a warning.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.conftest import capabilities, eventually, server_env
from tests.standin import DEFAULT_MODEL, StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio]

STATUS = "mistral-lsp/status"


def _plain(value: Any) -> Any:
    """pygls hands a custom notification's params over as attribute objects: back to dicts."""
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return [_plain(v) for v in value]
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if hasattr(value, "__dict__") and not isinstance(value, type):
        return {k: _plain(v) for k, v in vars(value).items()}
    return value


async def _client(
    standin: StandIn,
    root: Path,
    *,
    init_options: dict[str, Any],
    configuration: dict[str, Any] | None,
    wants_status: bool = True,
    log_file: Path | None = None,
    env: dict[str, str] | None = None,
) -> tuple[LanguageClient, list[dict[str, Any]]]:
    command = [sys.executable, "-m", "lsp_server", "serve"]
    if log_file is not None:
        command += ["--log-file", str(log_file)]
    config = ClientServerConfig(server_command=command, server_env=env or server_env(standin, root / ".cache"))
    client = await config.start()
    pushed: list[dict[str, Any]] = []

    @client.feature(STATUS)
    def on_status(params: Any) -> None:
        pushed.append(params if isinstance(params, dict) else _plain(params))

    if configuration is not None:
        client.set_configuration(configuration)
    caps = capabilities("visual-studio-code@v1.65.2", inline=True)
    if wants_status:
        caps.experimental = {"mistralLsp": {"statusNotification": True}}
    client.capabilities = caps  # what initialize_session would record
    params = types.InitializeParams(
        process_id=None,
        capabilities=caps,
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="ws")],
        initialization_options=init_options,
    )
    await client.initialize_async(params)
    return client, pushed


async def _status(client: LanguageClient) -> dict[str, Any]:
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command="mistral-lsp.status"))


async def _stop(client: LanguageClient) -> None:
    await client.shutdown_session()


async def test_settings_from_initialization_options_apply_at_initialize(standin: StandIn, tmp_path: Path) -> None:
    """Before `initialized` (before any configuration pull) the status already reads the editor's
    settings, not the built-in defaults."""
    client, _ = await _client(
        standin, tmp_path, init_options={"mistralLsp": {"model": "configured/model"}}, configuration=None
    )
    try:
        status = await _status(client)
        assert status["model"] == "configured/model"
        assert status["endpoint"] == standin.base_url
    finally:
        await _stop(client)


async def test_status_pushed_with_configured_settings_and_on_change(standin: StandIn, tmp_path: Path) -> None:
    """The issue's case: nothing in the environment, the endpoint set in the editor. No push (and no
    status) ever shows the built-in default endpoint."""
    env = server_env(standin, tmp_path / ".cache")
    del env["MISTRAL_LSP_ENDPOINT"]
    section = {"mistralLsp": {"endpoint": standin.base_url}}
    client, pushed = await _client(standin, tmp_path, init_options=section, configuration=section, env=env)
    try:
        assert (await _status(client))["endpoint"] == standin.base_url
        client.initialized(types.InitializedParams())
        assert await eventually(lambda: any(p.get("state") == "ready" for p in pushed), 20.0), pushed
        assert all(p["endpoint"] == standin.base_url for p in pushed), pushed
        assert all(p["model"] == DEFAULT_MODEL for p in pushed), pushed
        count = len(pushed)
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"mistralLsp": {"endpoint": standin.base_url, "model": "other/model"}})
        )
        assert await eventually(lambda: len(pushed) > count and pushed[-1]["model"] == "other/model", 20.0), pushed
    finally:
        await _stop(client)


async def test_the_answered_section_replaces_initialization_options(standin: StandIn, tmp_path: Path) -> None:
    """A setting the user removed is left out of the client's answer: it must not live on from the
    initializationOptions the client sent at start."""
    off = {"mistralLsp": {"completion": {"enable": False}}}
    client, pushed = await _client(standin, tmp_path, init_options=off, configuration={"mistralLsp": {}})
    try:
        assert (await _status(client))["completionsEnabled"] is False
        client.initialized(types.InitializedParams())
        assert await eventually(lambda: any(p["completionsEnabled"] is True for p in pushed), 20.0), pushed
        assert (await _status(client))["completionsEnabled"] is True
    finally:
        await _stop(client)


async def test_initialization_options_kept_when_the_client_has_no_section(standin: StandIn, tmp_path: Path) -> None:
    """A client that answers the pull with null (no such section) keeps its initializationOptions."""
    off = {"mistralLsp": {"completion": {"enable": False}}}
    client, pushed = await _client(standin, tmp_path, init_options=off, configuration=None)
    try:
        client.initialized(types.InitializedParams())
        assert await eventually(lambda: any(p.get("state") == "ready" for p in pushed), 20.0), pushed
        assert all(p["completionsEnabled"] is False for p in pushed), pushed
        assert (await _status(client))["completionsEnabled"] is False
    finally:
        await _stop(client)


async def test_no_status_notifications_unless_asked(standin: StandIn, tmp_path: Path) -> None:
    client, pushed = await _client(standin, tmp_path, init_options={}, configuration=None, wants_status=False)
    try:
        client.initialized(types.InitializedParams())
        assert await eventually(lambda: bool(standin.requests), 20.0)  # the model was asked for
        await _status(client)
        await asyncio.sleep(0.5)
        assert pushed == []
    finally:
        await _stop(client)


async def test_cancel_for_an_answered_request_is_not_a_warning(standin: StandIn, tmp_path: Path) -> None:
    log_file = tmp_path / "server.log"
    env = server_env(standin, tmp_path / ".cache", MISTRAL_LSP_LOG_LEVEL="info")
    client, _ = await _client(standin, tmp_path, init_options={}, configuration=None, log_file=log_file, env=env)
    try:
        client.initialized(types.InitializedParams())
        await _status(client)
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=987654))
        await _status(client)  # answered after the cancel was handled
    finally:
        await _stop(client)
    text = log_file.read_text()
    assert "settings:" in text  # the log file is the server's log
    assert "Cancel notification" not in text, text
