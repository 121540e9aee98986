"""A model server that is down, failing or talking garbage, and bad settings."""

from __future__ import annotations

import asyncio
import time

import pytest
import pytest_asyncio

from tests.e2e.conftest import capabilities, eventually, inline, open_doc, server_env, start_client, stop_client
from tests.standin import Reply, StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(standin: StandIn, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("res")
    (root / ".mistral-lsp.toml").write_text('[completion]\ndebounceMs = "soon"\n')
    client, result = await start_client(
        standin,
        root / ".cache",
        capabilities("visual-studio-code@v1.65.2", inline=True),
        root=root,
        init_options={"mistralLsp": {"endpoint": "not a url", "completion": {"temperature": 0.2}}},
    )
    yield client, root
    await stop_client(client)


def _shown(client) -> list[str]:
    return [m.message for m in client.messages]


async def test_bad_settings_are_reported_once_and_defaults_used(session, standin: StandIn) -> None:
    client, root = session
    assert await eventually(lambda: any("settings" in m for m in _shown(client)))
    shown = [m for m in _shown(client) if "settings" in m]
    assert len(shown) == 1
    assert "endpoint" in shown[0] and "debounce" in shown[0].lower()
    uri = (root / "a.py").as_uri()
    open_doc(client, uri, "x = 1\n", "python")
    standin.script(Reply(text="y = 2"))
    # the environment's endpoint (the stand-in) is used in place of the bad one
    assert await inline(client, uri, 1, 0) == ["y = 2"]
    assert standin.chat_requests()[-1].body["temperature"] == pytest.approx(0.2)


async def test_unreachable_model_server(session, standin: StandIn) -> None:
    client, root = session
    uri = (root / "b.py").as_uri()
    open_doc(client, uri, "def f():\n    \n", "python")
    standin.set_down(True)
    try:
        started = time.monotonic()
        assert await inline(client, uri, 1, 4) == []
        assert time.monotonic() - started < 2.0
        assert await eventually(lambda: any("paused" in m for m in _shown(client)))
        # more failures do not repeat the message
        assert await inline(client, uri, 1, 4) == []
        assert sum("paused" in m for m in _shown(client)) == 1
    finally:
        standin.set_down(False)
    standin.default = Reply(text="return 0")
    assert await eventually_inline(client, uri, ["return 0"]), "completions did not come back"
    assert await eventually(lambda: any("back" in m for m in _shown(client)))


async def test_http_error_and_garbage_do_not_break_the_server(session, standin: StandIn) -> None:
    client, root = session
    uri = (root / "c.py").as_uri()
    open_doc(client, uri, "def h():\n    \n", "python")
    standin.script(Reply(mode="error", status=400, error_message="This model's maximum context length is 10"))
    assert await inline(client, uri, 1, 4) == []
    await asyncio.sleep(0.6)  # let the back-off of earlier tests pass
    standin.script(Reply(mode="garbage"))
    assert isinstance(await inline(client, uri, 1, 4), list)
    await asyncio.sleep(1.2)
    standin.script(Reply(mode="disconnect", text="return 42 and more text", disconnect_after=2))
    assert isinstance(await inline(client, uri, 1, 4), list)
    await asyncio.sleep(2.5)
    standin.default = Reply(text="return 7")
    assert await eventually_inline(client, uri, ["return 7"])


async def eventually_inline(client, uri: str, expected: list[str], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await inline(client, uri, 1, 4) == expected:
            return True
        await asyncio.sleep(0.3)
    return False


async def test_model_not_served_is_reported(standin: StandIn, tmp_path) -> None:
    env = server_env(standin, tmp_path / "cache", MISTRAL_LSP_MODEL="mistralai/Some-Other-Model")
    client, _ = await start_client(
        standin, tmp_path / "cache", capabilities("visual-studio-code@v1.65.2", inline=True), root=tmp_path, env=env
    )
    try:
        assert await eventually(lambda: any("does not serve" in m for m in _shown(client)))
        message = next(m for m in _shown(client) if "does not serve" in m)
        assert "Mistral-Small-3.2-24B-Instruct-2506" in message
    finally:
        await stop_client(client)


async def test_a_prompt_too_long_fails_that_request_only(session, standin: StandIn) -> None:
    """A 400 (or 413/422) judges one request: completions go on at once, nothing is "paused"."""
    client, root = session
    await asyncio.sleep(2.5)  # earlier tests' back-off has passed
    paused = sum("paused" in m for m in _shown(client))
    too_long = ("This model's maximum context length is 32768 tokens. However, you requested 40000 tokens. "
                "Please reduce the length of the messages or completion.")
    for status, message in ((400, too_long), (413, "Payload Too Large"), (422, "unprocessable")):
        uri = (root / f"too_long_{status}.py").as_uri()
        open_doc(client, uri, f"def k{status}(n):\n    \n", "python")
        standin.script(Reply(mode="error", status=status, error_message=message), Reply(text="return n"))
        assert await inline(client, uri, 1, 4) == []
        asked = len(standin.chat_requests())
        assert await inline(client, uri, 1, 4) == ["return n"]  # no back-off: the model was asked again
        assert len(standin.chat_requests()) == asked + 1
    assert sum("paused" in m for m in _shown(client)) == paused
