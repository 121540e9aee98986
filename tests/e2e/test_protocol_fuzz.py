"""Property-based fuzzing of the real server over stdio: malformed frames, messages and params.

One server process serves a whole batch of examples (each ends with a liveness ping,
preceded by padding that completes any frame the example left open). For every
example: each well-framed request gets exactly one response, with a result or one of
the protocol's error codes (never -32603: a handler crash is a bug), nothing pops up,
and the server still answers. Examples are bounded to keep the default suite quick.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.raw import RawServer, frame, raw_env
from tests.standin import StandIn

pytestmark = pytest.mark.e2e

ALLOWED = {-32700, -32600, -32601, -32602, -32800}
PAD = b" " * 96 + b"\r\n"  # longer than any overstated length below: closes an open frame
TEXT = "import os\n\ndef f(x):\r\n    return x  # é 🙂 中\r    \n"
_ids = itertools.count(1)

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 64), 2 ** 64) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _valid_params(uri: str) -> dict[str, dict[str, Any]]:
    position = {"line": 3, "character": 4}
    span = {"start": {"line": 0, "character": 0}, "end": position}
    return {
        "textDocument/inlineCompletion": {"textDocument": {"uri": uri}, "position": position,
                                          "context": {"triggerKind": 1}},
        "textDocument/completion": {"textDocument": {"uri": uri}, "position": position},
        "textDocument/codeAction": {"textDocument": {"uri": uri}, "range": span, "context": {"diagnostics": []}},
        "codeAction/resolve": {"title": "Fix", "data": {"uri": uri}},
        "workspace/executeCommand": {"command": "mistral-lsp.status", "arguments": []},
        "textDocument/diagnostic": {"textDocument": {"uri": uri}},
        "workspace/noSuchMethod": {},
    }


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            out += _paths(inner, prefix + (key,))
    return out


@st.composite
def _params(draw: st.DrawFn, method: str, uri: str) -> Any:
    """Valid params with one spot changed: a value replaced, a key removed, or all of it."""
    params = json.loads(json.dumps(_valid_params(uri)[method]))
    path = draw(st.sampled_from(_paths(params)))
    action = draw(st.sampled_from(["keep", "replace", "delete"]))
    if action == "keep" or not path and action == "delete":
        return params
    bad = draw(_json | st.sampled_from([-1, 2 ** 31, 2 ** 40, "1", True, 1.5, [], {}]))
    if not path:
        return bad
    target = params
    for key in path[:-1]:
        target = target[key]
    if action == "delete":
        del target[path[-1]]
    else:
        target[path[-1]] = bad
    return params


@st.composite
def _message(draw: st.DrawFn, uri: str) -> tuple[bytes, Any]:
    """A body, and the id that must get exactly one response (None: none required)."""
    kind = draw(st.sampled_from(["request", "request", "request", "notification", "junk-json", "bytes"]))
    msg_id: Any = f"f{next(_ids)}" if draw(st.booleans()) else 10 ** 12 + next(_ids)
    if kind == "bytes":
        return draw(st.binary(max_size=60)), None
    if kind == "junk-json":
        return json.dumps(draw(_json)).encode(), None
    method = draw(st.sampled_from(sorted(_valid_params(uri))))
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    params = draw(_params(method, uri))
    if params is not None or draw(st.booleans()):
        message["params"] = params
    if kind == "notification":
        return json.dumps(message).encode(), None
    message["id"] = msg_id
    return json.dumps(message).encode(), msg_id


@st.composite
def _frame(draw: st.DrawFn, uri: str) -> tuple[bytes, Any]:
    body, msg_id = draw(_message(uri))
    framing = draw(st.sampled_from(["exact", "exact", "exact", "short", "long", "text", "none", "junk"]))
    eol = draw(st.sampled_from([b"\r\n", b"\n"]))
    name = draw(st.sampled_from([b"Content-Length", b"content-length"]))
    extra = draw(st.sampled_from([b"", b"Content-Type: application/vscode-jsonrpc; charset=utf-8" + eol]))
    if framing == "exact":
        return name + b": %d" % len(body) + eol + extra + eol + body, msg_id
    if framing == "short":
        length = max(0, len(body) - draw(st.integers(1, 20)))
    elif framing == "long":
        length = len(body) + draw(st.integers(1, 64))
    else:
        length = None
    header = {"short": b"%d", "long": b"%d", "text": b"twelve", "none": None,
              "junk": draw(st.sampled_from([b"-4", b"", b"0x10", b"1 2"]))}[framing]
    if header is None:
        return extra + eol + body, None
    value = header % length if length is not None else header
    return name + b": " + value + eol + extra + eol + body, None


@pytest.fixture(scope="module")
def fuzzed(standin: StandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawServer]:
    root = tmp_path_factory.mktemp("fuzz")
    raw = RawServer(raw_env(standin.base_url, root / ".cache", MISTRAL_LSP_LOG_LEVEL="warning"), root)
    raw.initialize(root)
    raw.uri = (root / "f.py").as_uri()  # type: ignore[attr-defined]
    raw.open(raw.uri, TEXT)  # type: ignore[attr-defined]
    raw.ping()
    yield raw
    assert raw.finish() == 0
    raw.kill()
    assert "Traceback" not in raw.log(), raw.log()[-4000:]


def _check(raw: RawServer, frames: list[tuple[bytes, Any]]) -> None:
    raw.send(b"".join(data for data, _ in frames) + PAD)
    raw.ping(timeout=60)
    for _, msg_id in frames:
        if msg_id is None:
            continue
        answer = raw.response(msg_id, timeout=60)
        assert ("result" in answer) != ("error" in answer), answer
        if "error" in answer:
            assert answer["error"]["code"] in ALLOWED, answer
    for _, msg_id in frames:
        if msg_id is not None:
            assert len(raw.responses(msg_id)) == 1, raw.responses(msg_id)
    assert raw.popups() == []
    assert raw.proc.poll() is None


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_malformed_frames_messages_and_params(fuzzed: RawServer, data: st.DataObject) -> None:
    uri = fuzzed.uri  # type: ignore[attr-defined]
    frames = data.draw(st.lists(_frame(uri), min_size=1, max_size=4))
    expected, swallowing = [], False
    for raw_frame, msg_id in frames:
        # after an overstated length on a body that is no JSON, the next bytes belong to that body
        expected.append((raw_frame, None if swallowing else msg_id))
        swallowing = swallowing or _overstates_junk(raw_frame)
    _check(fuzzed, expected)


def _overstates_junk(raw_frame: bytes) -> bool:
    head, _, body = raw_frame.replace(b"\r\n", b"\n").partition(b"\n\n")
    length = head.split(b":", 1)[1].split(b"\n", 1)[0].strip() if b":" in head else b""
    if not length.isdigit() or int(length) <= len(body):
        return False
    try:
        json.loads(body)
    except ValueError:
        return True
    return False


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_schema_mutations_of_well_framed_requests(fuzzed: RawServer, data: st.DataObject) -> None:
    uri = fuzzed.uri  # type: ignore[attr-defined]
    method = data.draw(st.sampled_from(sorted(_valid_params(uri))))
    params = data.draw(_params(method, uri))
    msg_id = f"s{next(_ids)}"
    body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}).encode()
    _check(fuzzed, [(frame(body), msg_id)])
