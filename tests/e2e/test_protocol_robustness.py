"""The transport and JSON-RPC layer against hostile and careless clients, byte for byte.

The real server over stdio, fed raw frames (``tests/e2e/raw.py``): every request with
an id gets exactly one response with the right error code, nothing pops up for a
protocol error, the server answers the next request, shutdown answers what is in
flight, exit codes follow the spec, and the command line's --log-level wins.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.raw import RawServer, frame, raw_env
from tests.standin import Reply, StandIn

pytestmark = pytest.mark.e2e

PARSE, INVALID, NO_METHOD, PARAMS, INTERNAL, CANCELLED, NOT_INITIALIZED = (
    -32700, -32600, -32601, -32602, -32603, -32800, -32002)
TEXT = "def area(r):\n    return 3.14 * r * r\n\n\ndef 面積(x):  # 🙂\n    \n"


@pytest.fixture(scope="module")
def server(standin: StandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawServer]:
    """One server for the cases that leave it usable (each checks liveness after itself)."""
    root = tmp_path_factory.mktemp("robust")
    raw = RawServer(raw_env(standin.base_url, root / ".cache"), root)
    raw.initialize(root)
    raw.root = root  # type: ignore[attr-defined]
    raw.uri = (root / "a.py").as_uri()  # type: ignore[attr-defined]
    raw.open(raw.uri, TEXT)  # type: ignore[attr-defined]
    raw.ping()
    yield raw
    assert raw.finish() == 0
    raw.kill()
    assert "Traceback" not in raw.log(), raw.log()[-3000:]


def _fresh(standin: StandIn, tmp_path: Path, *args: str, **env: str) -> RawServer:
    return RawServer(raw_env(standin.base_url, tmp_path / ".cache", **env), tmp_path, *args)


def _error(answer: dict, code: int) -> str:
    assert "error" in answer and "result" not in answer, answer
    assert answer["error"]["code"] == code, answer
    return answer["error"]["message"]


def _no_popups(raw: RawServer) -> None:
    assert raw.popups() == []


# -- 1-3: framing --------------------------------------------------------------------------
def test_a_header_line_of_2_mb_without_newline_is_skipped_and_logged(server: RawServer) -> None:
    server.send(b"X" * 2_000_000)
    server.ping()
    assert server.proc.poll() is None
    server.wait_log("skipped 2000000 bytes")
    _no_popups(server)


def test_a_body_longer_than_its_content_length_gets_an_error_by_its_id(server: RawServer) -> None:
    """A client counting characters, not bytes, on a 2 MB document with non-ASCII text."""
    message = {"jsonrpc": "2.0", "id": "chars", "method": "textDocument/inlineCompletion",
               "params": {"textDocument": {"uri": server.uri}, "position": {"line": 0, "character": 0},  # type: ignore[attr-defined]
                          "context": {"triggerKind": 1}, "note": "é" * 2_000_000}}
    text = json.dumps(message, ensure_ascii=False)
    server.send(frame(text.encode(), length=len(text)))
    assert "Content-Length counts bytes" in _error(server.response("chars"), PARSE)
    server.ping()
    assert len(server.responses("chars")) == 1
    server.wait_log("skipped")
    _no_popups(server)


@pytest.mark.parametrize("header", [
    b"Content-Length: abc\r\n\r\n",
    b"Content-Length: -5\r\n\r\n",
    b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n",
    b"Content-Length: 1e3\r\n\r\n",
], ids=["non-numeric", "negative", "missing", "float"])
def test_after_a_bad_frame_the_server_resynchronises_logs_and_answers_the_request(server: RawServer, header) -> None:
    msg_id = server.next_id()
    body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": "workspace/executeCommand",
                       "params": {"command": "mistral-lsp.status"}}).encode()
    server.send(header + body)
    assert "Parse error" in _error(server.response(msg_id), PARSE)
    server.ping()
    assert len(server.responses(msg_id)) == 1
    server.wait_log("a bad message frame from the client", f"skipped {len(body)} bytes")
    _no_popups(server)


def test_a_too_small_length_is_answered_by_id_and_the_next_request_still_works(server: RawServer) -> None:
    msg_id = server.next_id()
    message = {"jsonrpc": "2.0", "id": msg_id, "method": "workspace/executeCommand",
               "params": {"command": "mistral-lsp.status"}}
    server.send(frame(message, length=30))
    _error(server.response(msg_id), PARSE)
    server.ping()
    _no_popups(server)


@pytest.mark.parametrize("headers", [
    b"content-length: %d\r\n\r\n",
    b"CONTENT-LENGTH:%d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n",
    b"Content-Length: %d\n\n",
    b"\r\n\r\nContent-Length: %d\r\nX-Whatever: 1\r\n\r\n",
], ids=["lower-case", "content-type", "bare-newlines", "blank-lines-and-extra-header"])
def test_lenient_headers(server: RawServer, headers: bytes) -> None:
    msg_id = server.next_id()
    body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": "workspace/executeCommand",
                       "params": {"command": "mistral-lsp.status"}}).encode()
    server.send(headers % len(body) + body)
    assert "result" in server.response(msg_id)


# -- 4: params that do not fit the schema ----------------------------------------------------
def _inline(uri: str, **override: object) -> dict:
    params: dict = {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 4},
                    "context": {"triggerKind": 1}}
    params.update(override)
    return params


@pytest.mark.parametrize("method, params, field", [
    ("textDocument/inlineCompletion", "string-position", "params.position"),
    ("textDocument/inlineCompletion", {"line": -1, "character": 0}, "params.position"),
    ("textDocument/inlineCompletion", {"line": 2 ** 40, "character": 0}, "params.position"),
    ("textDocument/inlineCompletion", {"line": "1", "character": 0}, "params.position.line"),
    ("textDocument/inlineCompletion", {"line": True, "character": 0}, "params.position.line"),
    ("textDocument/inlineCompletion", {"line": 1.5, "character": 0}, "params.position.line"),
    ("textDocument/inlineCompletion", None, "params"),
    ("textDocument/inlineCompletion", [1, 2], "params"),
    ("textDocument/inlineCompletion", "no-context", "params.context"),
    ("textDocument/completion", {"line": -1, "character": 0}, "params.position"),
    ("textDocument/codeAction", "negative-range", "params.range"),
    ("workspace/executeCommand", {"arguments": []}, "params.command"),
    ("workspace/executeCommand", {"command": "mistral-lsp.status", "arguments": "abc"}, "params.arguments"),
    ("workspace/executeCommand", {"command": 42}, "params.command"),
])
def test_params_outside_the_schema_get_invalid_params_naming_the_field(server: RawServer, method, params, field) -> None:
    uri = server.uri  # type: ignore[attr-defined]
    if method in ("textDocument/inlineCompletion", "textDocument/completion") and isinstance(params, dict):
        params = _inline(uri, position=params)
    elif params == "string-position":
        params = _inline(uri, position="1:4")
    elif params == "no-context":
        params = _inline(uri)
        del params["context"]
    elif params == "negative-range":
        at = {"line": -1, "character": 0}
        params = {"textDocument": {"uri": uri}, "range": {"start": at, "end": at}, "context": {"diagnostics": []}}
    message = _error(server.call(method, params), PARAMS)
    assert field in message, message
    server.ping()
    _no_popups(server)


def test_in_schema_positions_past_the_document_are_clamped(server: RawServer, standin: StandIn) -> None:
    """Positions past the document clamp to its end, past a line's content to that line's end
    (``protocol/convert.py``): the ghost text lands exactly there."""
    standin.default = Reply(text="x = 1")
    uri = server.uri  # type: ignore[attr-defined]
    rows = TEXT.split("\n")
    end = {"line": len(rows) - 1, "character": len(rows[-1])}
    line_end = {"line": 0, "character": len(rows[0])}
    for position, expected in (({"line": 2 ** 31 - 1, "character": 2 ** 31 - 1}, end),
                               ({"line": len(rows), "character": 0}, end),
                               ({"line": 0, "character": 10_000}, line_end)):
        answer = server.call("textDocument/inlineCompletion", _inline(uri, position=position))
        items = answer["result"]["items"]
        assert items, answer
        assert all(item["range"] == {"start": expected, "end": expected} for item in items), (position, items)
    at = {"line": 10_000, "character": 0}
    answer = server.call("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": {"start": at, "end": at},
                                                     "context": {"diagnostics": []}})
    assert answer["result"] == [], answer  # an empty selection, wherever it is, gets no action


def test_a_selection_past_the_document_is_clamped_to_its_lines(standin: StandIn, tmp_path: Path) -> None:
    raw = _fresh(standin, tmp_path)
    try:
        raw.initialize(tmp_path, {"textDocument": {"codeAction": {"resolveSupport": {"properties": ["edit"]}}}})
        uri = (tmp_path / "a.py").as_uri()
        raw.open(uri, TEXT)
        last = TEXT.count("\n") - 1  # the last line with content (the document ends with a line break)

        def titles(start: dict, end: dict) -> list[str]:
            answer = raw.call("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": {
                "start": start, "end": end}, "context": {"diagnostics": []}})
            return [action["title"] for action in answer["result"]]

        far = {"line": 2 ** 31 - 1, "character": 2 ** 31 - 1}
        span = f"lines 5-{last + 1}"
        found = titles({"line": 4, "character": 0}, far)
        assert f"Fix with AI: {span}" in found, found
        assert f"Optimise with AI: {span}" in found, found  # the AI actions see the same clamped selection
        assert all(title.endswith(f": {span}") for title in found), found  # every action: the clamped lines
        assert "Fix with AI: line 1" in titles({"line": 0, "character": 3}, {"line": 0, "character": 10_000})
        found = titles({"line": 10_000, "character": 0}, far)  # both ends at the document's end: empty
        assert not any(title.startswith("Fix with AI") for title in found), found
        assert raw.finish() == 0
    finally:
        raw.kill()


@pytest.mark.parametrize("data", ["garbage", {"kind": "aiFix", "uri": 5}, [1, 2], None])
def test_code_action_resolve_with_foreign_data_answers(server: RawServer, data) -> None:
    answer = server.call("codeAction/resolve", {"title": "x", "data": data})
    assert "result" in answer or answer["error"]["code"] == PARAMS, answer
    server.ping()
    _no_popups(server)


@pytest.mark.parametrize("arguments", [[42], [{"uri": 42}], [None, None, None], [[]]])
def test_execute_command_arguments_of_the_wrong_type(server: RawServer, arguments) -> None:
    for command in ("mistral-lsp.reviewFile", "mistral-lsp.status", "mistral-lsp.reviewWorkspace", "nope"):
        answer = server.call("workspace/executeCommand", {"command": command, "arguments": arguments})
        assert "result" in answer or answer["error"]["code"] == PARAMS, answer
    server.ping()
    _no_popups(server)


def test_notifications_with_bad_params_are_logged_not_answered(server: RawServer) -> None:
    before = len(server.messages)
    server.notify("textDocument/didChange", {"textDocument": {"uri": 5}})
    server.notify("textDocument/didOpen", None)
    server.notify("$/cancelRequest", {"id": [1]})
    server.notify("textDocument/didSave", [1])
    server.ping()
    assert [m for m in server.messages[before:] if "id" in m and "method" not in m and m["id"] is None] == []
    server.wait_log("notification ignored: Invalid params for textDocument/didChange")
    _no_popups(server)


def test_unknown_methods(server: RawServer) -> None:
    _error(server.call("textDocument/noSuchThing", {}), NO_METHOD)
    _error(server.call("$/customRequest", {}), NO_METHOD)
    server.notify("$/customNotification", {})
    server.notify("no/suchNotification", {})
    server.ping()
    _no_popups(server)


def test_ids(server: RawServer) -> None:
    for msg_id in (2 ** 70, -3, 0, "", "ü 🙂", "x" * 1000):
        answer = server.response(server.request("workspace/executeCommand", {"command": "mistral-lsp.status"},
                                                msg_id=msg_id))
        assert answer["id"] == msg_id and type(answer["id"]) is type(msg_id) and "result" in answer
    for bad in (None, 1.5, True, [1], {"a": 1}):
        before = len(server.messages)
        server.send(frame({"jsonrpc": "2.0", "id": bad, "method": "workspace/executeCommand",
                           "params": {"command": "mistral-lsp.status"}}))
        server.ping()
        errors = [m for m in server.messages[before:] if "error" in m]
        assert len(errors) == 1 and errors[0]["error"]["code"] == INVALID
        assert "id" in errors[0] and errors[0]["id"] is None


def test_a_duplicate_id_in_flight_is_refused_and_the_first_still_answered(server: RawServer, standin: StandIn) -> None:
    standin.script(Reply(text="return 1", first_token_delay=1.5))
    uri = server.uri  # type: ignore[attr-defined]
    params = _inline(uri, position={"line": 5, "character": 4})
    server.request("textDocument/inlineCompletion", params, msg_id="dup")
    assert standin.wait_for(lambda requests: len([r for r in requests if r.path.endswith("/chat/completions")]) > 0,
                            timeout=30)
    server.request("textDocument/inlineCompletion", params, msg_id="dup")
    first = server.wait_for(lambda m: m.get("id") == "dup" and "method" not in m)
    assert "still in flight" in _error(first, INVALID)
    server.wait_for(lambda m: m.get("id") == "dup" and "result" in m)
    assert len(server.responses("dup")) == 2


# -- 5: bodies that are no request ------------------------------------------------------------
@pytest.mark.parametrize("body, code", [
    (b"{not json", PARSE),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "x"', PARSE),
    (b"\xff\xfe\x00{}", PARSE),
    (b'{"jsonrpc": "2.0", "id": "c", "method": "x", "params": NaN}', PARSE),
    (b"42", INVALID),
    (b"null", INVALID),
    (b'"text"', INVALID),
    (b"[]", INVALID),
    (b'{"jsonrpc": "2.0", "id": 5}', INVALID),
    (b'{"jsonrpc": "2.0"}', INVALID),
    (b'{"jsonrpc": "1.0", "id": 6, "method": "workspace/executeCommand"}', INVALID),
    (b'{"id": 8, "method": "workspace/executeCommand"}', INVALID),
    (b'{"jsonrpc": "2.0", "id": 9, "method": 12}', INVALID),
], ids=["invalid-json", "cut-json", "bad-utf8", "nan", "number", "null", "string", "empty-batch", "no-method",
        "only-jsonrpc", "jsonrpc-1", "no-jsonrpc", "method-number"])
def test_bodies_that_are_no_request_get_one_error(server: RawServer, body: bytes, code: int) -> None:
    before = len(server.messages)
    server.send(frame(body))
    server.ping()
    errors = [m for m in server.messages[before:] if "error" in m]
    assert len(errors) == 1 and errors[0]["error"]["code"] == code, errors
    assert "id" in errors[0]
    _no_popups(server)


def test_a_batch_gets_an_error_for_each_request_in_it(server: RawServer) -> None:
    batch = [{"jsonrpc": "2.0", "id": "b1", "method": "workspace/executeCommand", "params": {"command": "x"}},
             {"jsonrpc": "2.0", "method": "initialized", "params": {}},
             {"jsonrpc": "2.0", "id": "b2", "method": "shutdown"}]
    server.send(frame(batch))
    for msg_id in ("b1", "b2"):
        assert "batch" in _error(server.response(msg_id), INVALID)
    server.ping()  # the shutdown inside the batch was not run


# -- 6 and 17: lifecycle ------------------------------------------------------------------------
def test_requests_before_initialize_and_a_second_initialize(standin: StandIn, tmp_path: Path) -> None:
    raw = _fresh(standin, tmp_path)
    try:
        _error(raw.call("workspace/executeCommand", {"command": "mistral-lsp.status"}), NOT_INITIALIZED)
        raw.notify("textDocument/didOpen", {"textDocument": {"uri": "file:///x.py", "languageId": "python",
                                                             "version": 1, "text": ""}})
        raw.initialize(tmp_path)
        _error(raw.call("initialize", {"processId": None, "capabilities": {}}), INVALID)
        raw.ping()
        assert raw.finish() == 0
    finally:
        raw.kill()


def test_exit_without_shutdown_exits_1(standin: StandIn, tmp_path: Path) -> None:
    raw = _fresh(standin, tmp_path)
    try:
        raw.initialize(tmp_path)
        raw.ping()
        raw.notify("exit")
        assert raw.wait(30) == 1
        assert "Traceback" not in raw.log()
    finally:
        raw.kill()


def test_exit_before_initialize_exits_1(standin: StandIn, tmp_path: Path) -> None:
    raw = _fresh(standin, tmp_path)
    try:
        raw.notify("exit")
        assert raw.wait(30) == 1
    finally:
        raw.kill()


def test_after_shutdown_requests_are_invalid_and_exit_is_0(standin: StandIn, tmp_path: Path) -> None:
    raw = _fresh(standin, tmp_path)
    try:
        raw.initialize(tmp_path)
        assert raw.call("shutdown")["result"] is None
        assert "shutting down" in _error(raw.call("workspace/executeCommand", {"command": "mistral-lsp.status"}),
                                         INVALID)
        _error(raw.call("shutdown"), INVALID)
        raw.notify("textDocument/didOpen", {"textDocument": {"uri": "file:///x.py", "languageId": "python",
                                                             "version": 1, "text": ""}})
        raw.notify("exit")
        assert raw.wait(30) == 0
        assert "Traceback" not in raw.log()
    finally:
        raw.kill()


def test_shutdown_with_completions_in_flight_answers_each_once_and_exits_quietly(
    standin: StandIn, tmp_path: Path
) -> None:
    """Three completions against a slow model, then shutdown + exit at once: every one is
    answered (cancelled) before shutdown's own answer, the model streams are closed, and
    the process ends with 0 and a short, traceback-free log."""
    standin.default = Reply(text="return 1", first_token_delay=30.0)
    raw = _fresh(standin, tmp_path)
    try:
        raw.initialize(tmp_path)
        uri = (tmp_path / "slow.py").as_uri()
        raw.open(uri, TEXT)
        ids = [raw.request("textDocument/inlineCompletion", _inline(uri, position={"line": 5, "character": 4}),
                           msg_id=f"slow{i}") for i in range(3)]
        assert standin.wait_for(lambda rs: len([r for r in rs if r.path.endswith("/chat/completions")]) >= 1,
                                timeout=30)
        shutdown = raw.request("shutdown")
        raw.response(shutdown)
        answered = [raw.responses(msg_id) for msg_id in ids]
        assert all(len(a) == 1 for a in answered), answered
        for (answer,) in answered:
            assert "result" in answer or answer["error"]["code"] == CANCELLED, answer
        order = [m.get("id") for m in raw.messages if "method" not in m]
        assert all(order.index(msg_id) < order.index(shutdown) for msg_id in ids)
        raw.notify("exit")
        assert raw.wait(30) == 0
        assert standin.wait_for(lambda rs: all(r.disconnected or r.completed for r in rs
                                               if r.path.endswith("/chat/completions")), timeout=30)
        log = raw.log()
        assert "Traceback" not in log and "closed file" not in log, log[-3000:]
        assert log.count("\n") < 200, log[-3000:]
    finally:
        standin.default = Reply()
        raw.kill()


def test_a_client_that_goes_away_ends_the_server_after_one_log_line(standin: StandIn, tmp_path: Path) -> None:
    """Nobody reads the server's output any more: the first failed write is logged once,
    later ones are dropped, and the server ends instead of storming the log."""
    proc = subprocess.Popen([sys.executable, "-m", "lsp_server", "serve"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
                            env=raw_env(standin.base_url, tmp_path / ".cache"))
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdout.close()
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "capabilities": {}}}
        status = {"jsonrpc": "2.0", "method": "workspace/executeCommand", "params": {"command": "mistral-lsp.status"}}
        try:
            proc.stdin.write(frame(init) + b"".join(frame({**status, "id": i}) for i in range(2, 50)))
            proc.stdin.flush()
        except OSError:
            pass
        _, stderr = proc.communicate(timeout=60)
        log = stderr.decode()
        assert proc.returncode == 0, log
        assert log.count("the client is gone") == 1, log
        assert "Traceback" not in log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


# -- 8: --log-level ----------------------------------------------------------------------------
def test_the_command_line_log_level_wins_over_the_setting(standin: StandIn, tmp_path: Path) -> None:
    raw = _fresh(standin, tmp_path, "--log-level", "debug", MISTRAL_LSP_LOG_LEVEL="warning")
    try:
        raw.initialize(tmp_path)
        raw.ping()
        assert raw.finish() == 0
        after_initialize = raw.log().split("settings:", 1)[-1]
        assert " DEBUG lsp_server" in after_initialize
    finally:
        raw.kill()


def test_the_log_level_setting_applies_without_the_flag(standin: StandIn, tmp_path: Path) -> None:
    raw = _fresh(standin, tmp_path, MISTRAL_LSP_LOG_LEVEL="debug")
    try:
        raw.initialize(tmp_path, )
        raw.ping()
        assert raw.finish() == 0
        assert " DEBUG lsp_server" in raw.log()
    finally:
        raw.kill()
    raw = _fresh(standin, tmp_path, MISTRAL_LSP_LOG_LEVEL="warning")
    try:
        raw.call("initialize", {"processId": None, "capabilities": {},
                                "initializationOptions": {"mistralLsp": {"logLevel": "debug"}}})
        raw.notify("initialized", {})
        raw.ping()
        assert raw.finish() == 0
        assert " DEBUG lsp_server" in raw.log()
    finally:
        raw.kill()


# -- 7: a lone CR is a line break --------------------------------------------------------------
@pytest.mark.parametrize("eol", ["\r", "\r\n", "\n"])
def test_the_completion_range_is_on_the_line_the_client_means(server: RawServer, standin: StandIn, eol: str) -> None:
    standin.default = Reply(text="return y")
    uri = (server.root / f"cr{len(eol)}{ord(eol[0])}.py").as_uri()  # type: ignore[attr-defined]
    server.open(uri, eol.join(["def f(x):  # 🙂 中", "    y = x", "    ", ""]))
    answer = server.call("textDocument/inlineCompletion", _inline(uri, position={"line": 2, "character": 4}))
    items = answer["result"]["items"]
    assert items and items[0]["range"]["start"] == {"line": 2, "character": 4}, answer
