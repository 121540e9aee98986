"""The converter functions of every message the server takes are built after
``initialized``, not by the first request of each kind (issue 12 item 9: cattrs compiled a
function per type on first use, inside that request's turn of the event loop)."""

from __future__ import annotations

import asyncio

import cattrs.converters
import cattrs.gen
import pytest
from lsprotocol import types

from lsp_server.server import build_server

DID_OPEN = {"textDocument": {"uri": "file:///w/a.py", "languageId": "python", "version": 1, "text": "x = 1\n"}}


def _count_builds(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record every class cattrs writes a function for (lsprotocol's hooks call ``cattrs.gen``,
    cattrs's own defaults the names it imported)."""
    built: list[object] = []
    for name in ("make_dict_structure_fn", "make_dict_unstructure_fn"):
        original = getattr(cattrs.gen, name)

        def spy(cl: object, *args: object, _original=original, **kwargs: object) -> object:
            built.append(cl)
            return _original(cl, *args, **kwargs)

        monkeypatch.setattr(cattrs.gen, name, spy)
        monkeypatch.setattr(cattrs.converters, name, spy)
    return built


def test_after_warming_no_request_builds_a_converter_function(monkeypatch: pytest.MonkeyPatch) -> None:
    protocol = build_server().protocol
    built = _count_builds(monkeypatch)
    count = asyncio.run(protocol.warm_converters())
    taken = {*protocol.fm.features, types.WORKSPACE_EXECUTE_COMMAND, types.CANCEL_REQUEST}
    with_params = [m for m in taken if types.METHOD_TO_TYPES.get(m, (None,) * 4)[2] is not None]
    assert count == len(with_params) >= 15 and built, "warming built a function per message taken"
    built.clear()
    converter = protocol._converter  # noqa: SLF001 - the converter the intake uses
    params = converter.structure(DID_OPEN, types.DidOpenTextDocumentParams)
    assert params.text_document.text == "x = 1\n"
    converter.structure({"textDocument": {"uri": "file:///w/a.py"}, "position": {"line": 0, "character": 1},
                         "context": {"triggerKind": 1}}, types.InlineCompletionParams)
    assert built == []


def test_a_cold_converter_builds_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """The spy above can see a build: without warming, the first didOpen makes one."""
    protocol = build_server().protocol
    built = _count_builds(monkeypatch)
    protocol._converter.structure(DID_OPEN, types.DidOpenTextDocumentParams)  # noqa: SLF001
    assert built
