"""The routing table (``protocol/routes.py``): every route registered once, nothing registered
outside it, the capabilities it advertises, docs/architecture.md listing every row, and
handlers called directly as plain functions."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from lsprotocol import converters, types
from pygls.capabilities import ServerCapabilitiesBuilder

from lsp_server.config import Settings
from lsp_server.protocol import commands, diagnostics, hover, lifecycle, routes
from lsp_server.server import build_server
from lsp_server.services import Services
from tests.standin import StandIn

ROOT = Path(__file__).resolve().parents[2]
TABLE = routes.routes(lifecycle.Session())


def _function(handler: Any) -> Any:
    """The plain function behind pygls's wrapper and our ``partial``s."""
    while True:
        inner = getattr(handler, "func", None)
        if inner is None:
            return handler
        handler = inner


def test_every_route_is_registered_once_and_nothing_else_is() -> None:
    server = build_server()
    fm = server.protocol.fm
    methods = [route.method for route in TABLE]
    assert len(methods) == len(set(methods)), "a method or command appears twice in the table"
    features = [route for route in TABLE if not route.command]
    assert set(fm.features) == {route.method for route in features}
    assert list(fm.commands) == [route.method for route in TABLE if route.command]  # advertised in this order
    for route in TABLE:
        registered = (fm.commands if route.command else fm.features)[route.method]
        assert _function(registered) is _function(route.handler), route.method
    assert fm.feature_options == {route.method: route.options for route in features if route.options is not None}


def test_handlers_are_module_level_functions() -> None:
    for route in TABLE:
        function = _function(route.handler)
        assert "<locals>" not in function.__qualname__, route.method
        module = __import__(function.__module__, fromlist=["_"])
        assert getattr(module, function.__name__) is function, route.method


def test_the_lifecycle_handlers_share_one_session_per_server() -> None:
    session = lifecycle.Session()
    bound = [route.handler for route in routes.routes(session) if isinstance(route.handler, functools.partial)]
    assert {route.method for route in routes.routes(session) if isinstance(route.handler, functools.partial)} == {
        types.INITIALIZE, types.INITIALIZED, types.WORKSPACE_DID_CHANGE_CONFIGURATION}
    assert all(handler.keywords["session"] is session for handler in bound)


def test_the_advertised_capabilities_and_commands() -> None:
    """What ``initialize`` answers, as it was before the table existed (clients depend on it)."""
    server = build_server()
    fm = server.protocol.fm
    built = ServerCapabilitiesBuilder(
        types.ClientCapabilities(), set({**fm.features, **fm.builtin_features}), fm.feature_options,
        list(fm.commands), types.TextDocumentSyncKind.Incremental, None, types.PositionEncodingKind.Utf16,
    ).build()
    caps = converters.get_converter().unstructure(built)
    assert caps["executeCommandProvider"] == {"commands": [
        "mistral-lsp.runAction", "mistral-lsp.listActions", "mistral-lsp.showNote", "mistral-lsp.status",
        "mistral-lsp.toggleCompletions", "mistral-lsp.clearCache", "mistral-lsp.reviewFile",
        "mistral-lsp.reviewWorkspace"]}
    assert caps["completionProvider"] == {"triggerCharacters": [".", "(", ",", "=", ":"], "resolveProvider": False}
    assert caps["inlineCompletionProvider"] == {}
    assert caps["codeActionProvider"] == {"codeActionKinds": ["quickfix", "refactor.rewrite", "refactor"],
                                          "resolveProvider": True}
    assert caps["diagnosticProvider"] == {"identifier": "mistral-lsp", "interFileDependencies": False,
                                          "workspaceDiagnostics": False}
    assert caps["hoverProvider"] is True
    assert caps["textDocumentSync"]["save"] is not None and caps["textDocumentSync"]["openClose"] is True


def test_docs_architecture_lists_every_route() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## Routing", 1)[1].split("\n## ", 1)[0]
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `([^`]+)` \| `([^`]+)` \|", section, re.M)}
    for route in TABLE:
        function = _function(route.handler)
        where = f"{function.__module__.rsplit('.', 1)[-1]}.py:{function.__name__}"
        assert rows.get(route.method) == where, f"docs/architecture.md Routing: {route.method} -> {where}"
    assert set(rows) == {route.method for route in TABLE}


# -- handlers called directly ------------------------------------------------------------------

@pytest.fixture
async def services(standin: StandIn, tmp_path: Path):
    built = Services(Settings(endpoint=standin.base_url, cache_dir=tmp_path / "cache", index_enabled=False))
    yield built
    await built.aclose()


def _ls(services: Services | None) -> Any:
    """The little of a server the handlers below read."""
    return SimpleNamespace(services=services, encoding="utf-16", client_capabilities=types.ClientCapabilities())


def test_status_and_toggle_commands_called_directly(services: Services) -> None:
    assert commands.status_command(_ls(None)) == {"state": "starting"}
    ls = _ls(services)
    before = commands.status_command(ls)
    assert before["completionsEnabled"] is True and before["review"]["diagnostics"] == "push"
    assert commands.toggle(ls) == {"completionsEnabled": False}
    assert commands.status_command(ls)["completionsEnabled"] is False


async def test_hover_called_directly(services: Services, tmp_path: Path) -> None:
    uri = (tmp_path / "notes.md").as_uri()
    text = "# Title\n\nSee ![a chart](missing/chart.png) here.\n"
    services.documents.open(uri, "markdown", 3, text)
    ls = _ls(services)
    at = types.TextDocumentIdentifier(uri=uri)
    column = text.splitlines()[2].index("chart.png")
    answer = await hover.text_document_hover(ls, types.HoverParams(text_document=at, position=types.Position(2, column)))
    assert answer is not None
    assert answer.contents.value.startswith("**Image** `missing/chart.png`")
    assert "Not shown to the model:" in answer.contents.value
    start = text.splitlines()[2].index("![")
    assert answer.range == types.Range(types.Position(2, start), types.Position(2, text.splitlines()[2].index(" here")))
    # off the reference: no hover; a document that is not open: no hover
    assert await hover.text_document_hover(ls, types.HoverParams(text_document=at, position=types.Position(0, 2))) is None
    gone = types.TextDocumentIdentifier(uri=(tmp_path / "other.md").as_uri())
    assert await hover.text_document_hover(ls, types.HoverParams(text_document=gone, position=types.Position(0, 0))) is None


def test_pull_diagnostics_called_directly_for_a_push_client(services: Services, tmp_path: Path) -> None:
    uri = (tmp_path / "a.py").as_uri()
    services.documents.open(uri, "python", 1, "x = 1\n")
    params = types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
    # this client cannot be told to re-pull: it gets diagnostics pushed, so the pull report stays empty
    assert diagnostics.pull(_ls(services), params) == types.FullDocumentDiagnosticReport(items=[], result_id="push")
