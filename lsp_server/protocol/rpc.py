"""JSON-RPC over LSP, strictly: every request with an id gets exactly one response.

``RpcProtocol`` replaces pygls's message intake (``json.loads`` with an object hook
that raised out of the read loop, leaving requests unanswered and popping up
"Error in server") with one checked path, from a framed body to a handler:

- the body is UTF-8 JSON (else -32700), one object (else -32600; LSP has no batches,
  so each request in an array is refused by its id), ``"jsonrpc": "2.0"``, an id that
  is an integer or a string, a method that is a string (else -32600, with the id when
  there is a valid one and ``"id": null`` otherwise);
- a request before ``initialize`` gets -32002, a second ``initialize`` and any request
  after ``shutdown`` -32600, an id already in flight -32600, an unknown method -32601;
- params are structured against the LSP schema by a strict converter (no ``"3"`` for
  3, no ``true`` for 1, no string for an array); a mismatch is -32602 naming the
  fields (``params.position.line: ...``);
- a handler's exception becomes -32603 and a cancelled request -32800, logged,
  never shown to the user: protocol errors are the client's to show. Cancelling a
  ``workspace/executeCommand`` cancels the command's coroutine too (pygls 2.1 leaves it running).

Notifications get no response, whatever is wrong with them: bad ones are logged
in one line. ``shutdown`` refuses new requests at once, cancels the ones in flight
and waits (bounded) until each is answered, then closes the services; ``exit``
ends the server with 0 after ``shutdown`` and 1 without, as the spec says.
"""

from __future__ import annotations

import asyncio
import collections.abc
import contextvars
import enum
import functools
import json
import logging
import typing
import uuid
from collections.abc import Callable, Generator
from concurrent.futures import Future
from typing import Any

import cattrs
from lsprotocol import types
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcMethodNotFound,
    JsonRpcParseError,
    JsonRpcRequestCancelled,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import default_converter
from pygls.protocol.json_rpc import MsgId
from pygls.protocol.language_server import LanguageServerProtocol, lsp_method

from lsp_server.protocol.transport import BadFrame, Message, Skipped, salvage

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 2.0  # how long shutdown waits for cancelled requests to answer


def strict_converter() -> cattrs.Converter:
    """pygls's converter, without cattrs's coercions: JSON types must match the schema."""
    converter = default_converter()

    def exact(kind: type, *allowed: type) -> Callable[[Any, Any], Any]:
        def hook(value: Any, target: Any) -> Any:
            if type(value) not in allowed:
                raise TypeError(f"expected {_json_name(kind)}, got {_json_name(type(value))}")
            if isinstance(target, type) and issubclass(target, enum.Enum):  # IntEnum, StrEnum: dispatched here
                return target(value)
            return kind(value)

        return hook

    # by class (singledispatch), as cattrs registers its own: the subclasses (enums) come here too
    converter.register_structure_hook(int, exact(int, int))
    converter.register_structure_hook(str, exact(str, str))
    converter.register_structure_hook(bool, exact(bool, bool))
    converter.register_structure_hook(float, exact(float, int, float))

    def sequence_hook(value: Any, kind: Any) -> Any:
        if not isinstance(value, list):
            raise TypeError(f"expected an array, got {_json_name(type(value))}")
        args = typing.get_args(kind)
        if typing.get_origin(kind) is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise TypeError(f"expected an array of {len(args)}, got {len(value)} items")
            return tuple(converter.structure(item, arg) for item, arg in zip(value, args))
        item_type = args[0] if args else Any
        return tuple(converter.structure(item, item_type) for item in value)

    def mapping_hook(value: Any, kind: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {_json_name(type(value))}")
        args = typing.get_args(kind) or (str, Any)
        return {converter.structure(k, args[0]): converter.structure(v, args[1]) for k, v in value.items()}

    sequences = (collections.abc.Sequence, tuple)
    converter.register_structure_hook_func(lambda t: typing.get_origin(t) in sequences, sequence_hook)
    converter.register_structure_hook_func(lambda t: typing.get_origin(t) is collections.abc.Mapping, mapping_hook)
    return converter


def _json_name(kind: type) -> str:
    names = {int: "an integer", str: "a string", bool: "a boolean", float: "a number", list: "an array",
             dict: "an object", type(None): "null"}
    return names.get(kind, kind.__name__)


def _camel(segment: str) -> str:
    head, *rest = segment.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_NOT_AN_OBJECT = ("indices must be integers", "not subscriptable", "is not iterable", "has no attribute 'get'")


def describe_params_error(exc: Exception) -> str:
    """``params.position.line: expected an integer, got a string; ...`` from a cattrs error."""

    def explain(error: BaseException, _: Any) -> str:
        if isinstance(error, KeyError):
            return "required, missing"
        text = str(error) or type(error).__name__
        return "\0" if isinstance(error, TypeError) and any(p in text for p in _NOT_AN_OBJECT) else text

    try:
        lines = cattrs.transform_error(exc, path="params", format_exception=explain)
    except Exception:  # noqa: BLE001 - describing must not fail
        lines = [f"{exc} @ params"]
    out: list[str] = []
    for line in lines:
        message, _, path = line.rpartition(" @ ")
        if message == "\0":  # a field was read from something that is not an object: name the object
            path, message = path.rpartition(".")[0] or path, "expected an object"
        path = ".".join(_camel(part) if not part.startswith("[") else part for part in path.split("."))
        if (entry := f"{path}: {message}") not in out:
            out.append(entry)
    return "; ".join(out[:5]) + ("; ..." if len(out) > 5 else "")


def _valid_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str)


class RpcProtocol(LanguageServerProtocol):
    """LanguageServerProtocol with a checked intake and one response per request id."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._open: set[MsgId] = set()  # client request ids not answered yet
        self._initialize_seen = False
        self.exit_code: int | None = None  # set by exit
        self.on_exit: Callable[[int], None] | None = None

    # -- warming up --------------------------------------------------------------------
    async def warm_converters(self) -> int:
        """Build the converter's structure functions for every message this server takes, one
        per event-loop turn; how many were built.

        cattrs writes and compiles a function per message type the first time it sees the
        type, which took about 45 ms for the first ``didOpen`` (on top of reading a big
        document); done here, in the idle time after ``initialized``, no request pays for it."""
        built = 0
        for method in (*self.fm.features, types.WORKSPACE_EXECUTE_COMMAND, types.CANCEL_REQUEST):
            kinds = types.METHOD_TO_TYPES.get(method)
            params = kinds[2] if kinds is not None else None
            if params is None:
                continue
            try:
                self._converter.get_structure_hook(params)
            except Exception as exc:  # noqa: BLE001 - a type cattrs cannot handle is built on use, as before
                log.debug("could not prepare the converter for %s: %s", method, exc)
                continue
            built += 1
            await asyncio.sleep(0)
        return built

    # -- intake ------------------------------------------------------------------------
    def handle_event(self, event: Message | BadFrame | Skipped) -> None:
        """One event of the framing layer (``transport.FrameParser``)."""
        if isinstance(event, Skipped):
            log.warning("skipped %d bytes from the client: %s", event.size, event.reason)
            log.debug("the skipped bytes began with %r", event.preview)
        elif isinstance(event, BadFrame):
            log.warning("a bad message frame from the client: %s", event.reason)
            self._refuse(event.salvaged, JsonRpcParseError(f"Parse error: {event.reason}"))
        else:
            if event.note:
                log.warning("a message frame from the client was repaired: %s", event.note)
            self.handle_body(event.body)

    def handle_body(self, body: bytes) -> None:
        """Parse one framed body and dispatch it; answers what cannot be dispatched."""
        try:
            data = json.loads(body.decode("utf-8-sig"), parse_constant=_no_constant)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            fields, closed = salvage(body)
            if fields and not closed:
                problem = f"the body ends before its JSON does ({len(body)} bytes; Content-Length counts bytes)"
            elif isinstance(exc, UnicodeDecodeError):
                problem = f"the message is not UTF-8 ({exc.reason} at byte {exc.start})"
            else:
                problem = f"the message is not JSON ({exc})"
            log.warning("a message from the client could not be read: %s", problem)
            self._refuse(fields, JsonRpcParseError(f"Parse error: {problem}"))
            return
        self.handle_data(data)

    def handle_data(self, data: Any) -> None:
        """Dispatch one parsed message; a failure of ours is logged, and a request it hit answered."""
        try:
            self._dispatch(data)
        except Exception as exc:  # noqa: BLE001 - the read loop must survive whatever a message does
            log.error("handling a message failed", exc_info=exc)
            if isinstance(data, dict) and "method" in data and _valid_id(msg_id := data.get("id")):
                if msg_id not in self._open:
                    self._answer_now(msg_id, JsonRpcInternalError(f"Internal error: {type(exc).__name__}: {exc}"))

    def _dispatch(self, data: Any) -> None:
        if isinstance(data, list):
            log.warning("a batch of %d messages from the client (LSP has no batches)", len(data))
            refused = JsonRpcInvalidRequest("Invalid Request: batches are not supported by LSP")
            ids = [m["id"] for m in data if isinstance(m, dict) and "method" in m and _valid_id(m.get("id"))]
            for msg_id in ids:
                self._answer_now(msg_id, refused)
            if not ids:
                self._answer_now(None, refused)
            return
        if not isinstance(data, dict):
            log.warning("a message from the client is not a JSON object: %s", type(data).__name__)
            self._answer_now(None, JsonRpcInvalidRequest("Invalid Request: a message must be a JSON object"))
            return
        if data.get("jsonrpc") != "2.0":
            self._refuse(data, JsonRpcInvalidRequest('Invalid Request: "jsonrpc" must be "2.0"'))
            return
        if "method" in data:
            method = data["method"]
            if not isinstance(method, str):
                self._refuse(data, JsonRpcInvalidRequest('Invalid Request: "method" must be a string'))
            elif "id" not in data:
                self._notification(method, data)
            elif not _valid_id(data["id"]):
                self._answer_now(None, JsonRpcInvalidRequest('Invalid Request: "id" must be an integer or a string'))
            else:
                self._request(data["id"], method, data)
        elif "id" in data and ("result" in data or "error" in data):
            self._response(data)
        else:
            self._refuse(data, JsonRpcInvalidRequest("Invalid Request: neither a method nor a result or an error"))

    def _refuse(self, fields: dict[str, Any], error: JsonRpcException) -> None:
        """Answer a message that could not be dispatched: by its id when it is a request.

        Notifications and responses are never answered; an id that is invalid, or that
        belongs to a request in flight (which gets its own answer), becomes ``null``.
        """
        if ("method" in fields and "id" not in fields) or (
            "method" not in fields and ("result" in fields or "error" in fields)
        ):
            log.warning("a message from the client was dropped: %s", error.message)
            return
        msg_id = fields.get("id")
        if not _valid_id(msg_id) or msg_id in self._open:
            msg_id = None
        self._answer_now(msg_id, error)

    def _params(self, method: str, data: dict[str, Any]) -> Any:
        """The message's params, structured for the method; raises JsonRpcInvalidParams."""
        params = data.get("params")
        kind = types.METHOD_TO_TYPES.get(method, (None, None, None))[2]
        if kind is None:
            if params is not None and not isinstance(params, (dict, list)):
                raise JsonRpcInvalidParams(f"Invalid params for {method}: params: expected an object or an array")
            return params
        if not isinstance(params, dict):
            got = "missing" if "params" not in data else f"got {_json_name(type(params))}"
            raise JsonRpcInvalidParams(f"Invalid params for {method}: params: expected an object, {got}")
        try:
            return self._converter.structure(params, kind)
        except Exception as exc:  # noqa: BLE001 - any structuring failure is the client's
            raise JsonRpcInvalidParams(f"Invalid params for {method}: {describe_params_error(exc)}") from None

    def _request(self, msg_id: MsgId, method: str, data: dict[str, Any]) -> None:
        try:
            if method == types.INITIALIZE and self._initialize_seen:
                raise JsonRpcInvalidRequest("Invalid Request: initialize was already sent")
            if method != types.INITIALIZE and not self._initialize_seen:
                raise JsonRpcServerNotInitialized("Server not initialized: send initialize first")
            if self._shutdown:
                raise JsonRpcInvalidRequest(f"Invalid Request: the server is shutting down ({method})")
            if msg_id in self._open:
                raise JsonRpcInvalidRequest(f"Invalid Request: a request with id {msg_id!r} is still in flight")
            handler = self._get_handler(method)
            params = self._params(method, data)
        except JsonRpcException as error:
            if not isinstance(error, JsonRpcMethodNotFound):
                log.warning("request %r (%s) refused: %s", msg_id, method, error.message)
            else:
                log.info("request %r for an unknown method %r", msg_id, method)
            self._answer_now(msg_id, error)
            return
        if method == types.INITIALIZE:
            self._initialize_seen = True
        self._open.add(msg_id)
        log.debug("request %r %s", msg_id, method)

        def run() -> None:
            self._ctx_msg_id.set(msg_id)
            self._execute_handler(msg_id, handler, args=(params,),
                                  callback=lambda future: self._send_handler_result(future, msg_id=msg_id))

        _in_own_context(run)

    def _notification(self, method: str, data: dict[str, Any]) -> None:
        if method == types.EXIT:
            self._exit()
            return
        if self._shutdown or not self._initialize_seen:
            log.info("notification %s ignored: the server is %s", method,
                     "shutting down" if self._shutdown else "not initialized yet")
            return
        try:
            params = self._params(method, data)
        except JsonRpcInvalidParams as error:
            log.warning("notification ignored: %s", error.message)
            return
        if method == types.CANCEL_REQUEST:
            if _valid_id(params.id):
                self._handle_cancel_notification(params.id)
            else:
                log.warning("notification ignored: $/cancelRequest with an id that is no integer or string")
            return
        try:
            handler = self._get_handler(method)
        except JsonRpcMethodNotFound:
            level = logging.DEBUG if method.startswith("$/") else logging.INFO
            log.log(level, "notification for an unknown method %r ignored", method)
            return
        log.debug("notification %s", method)
        _in_own_context(lambda: self._execute_handler(
            msg_id=f"notification:{uuid.uuid4()}", handler=handler, args=(params,),
            callback=lambda future: self._notification_done(future, method)))

    def _response(self, data: dict[str, Any]) -> None:
        msg_id = data["id"]
        future = self._request_futures.get(msg_id) if _valid_id(msg_id) else None
        if future is None:
            log.info("a response from the client to an unknown request %r", msg_id)
            return
        kind = self._result_types.pop(msg_id, None)
        try:
            if "error" in data:
                error = self._converter.structure(data["error"], types.ResponseError)
                self._handle_response(msg_id, None, error)
                return
            result = self._converter.structure(data, kind).result if kind is not None else data["result"]
        except Exception as exc:  # noqa: BLE001 - a bad answer fails the waiting request, not the server
            log.warning("the client's response to request %r does not fit the schema: %s", msg_id,
                        describe_params_error(exc).replace("params", "result", 1))
            self._request_futures.pop(msg_id, None)
            if not future.done():
                future.set_exception(JsonRpcInvalidParams("the client's response does not fit the schema"))
            return
        self._handle_response(msg_id, result)

    # -- answers -------------------------------------------------------------------------
    def _answer_now(self, msg_id: MsgId | None, error: JsonRpcException) -> None:
        """An error response for a message that never reached a handler."""
        self._send_response(msg_id, error=error.to_response_error())  # type: ignore[arg-type]

    def _send_response(self, msg_id: MsgId, result: Any | None = None, error: Any | None = None) -> None:
        if error is None:
            super()._send_response(msg_id, result)
            return
        # a plain dict: lsprotocol's converter would leave out "id": null
        error_body = {"code": error.code, "message": error.message}
        if error.data is not None:
            error_body["data"] = error.data
        self._send_data({"jsonrpc": "2.0", "id": msg_id, "error": error_body})

    def _execute_handler(self, msg_id: MsgId, handler: Any, callback: Any, args: Any = None,
                         kwargs: Any = None) -> None:
        """pygls's, but the future of anything other than a client request is forgotten when done
        (pygls keeps one per notification and per step of its built-in handlers: a leak)."""

        def done(future: Any) -> None:
            if msg_id not in self._open and self._request_futures.get(msg_id) is future:
                del self._request_futures[msg_id]
            callback(future)

        super()._execute_handler(msg_id, handler, done, args, kwargs)

    def _send_handler_result(self, future: Future[Any], *, msg_id: MsgId) -> None:
        """The one response of request ``msg_id`` (later ones are dropped)."""
        self._request_futures.pop(msg_id, None)
        if msg_id not in self._open:
            log.debug("request %r was already answered; its late result is dropped", msg_id)
            return
        self._open.discard(msg_id)
        if future.cancelled():
            error: JsonRpcException | None = JsonRpcRequestCancelled(f'Request with id "{msg_id}" is canceled')
        elif isinstance(exc := future.exception(), JsonRpcException):
            error = exc
            log.info("request %r answered with error %d: %s", msg_id, exc.code, exc.message)
        elif exc is not None:
            error = JsonRpcInternalError(f"Internal error: {type(exc).__name__}: {exc}")
            log.error("request %r failed", msg_id, exc_info=(type(exc), exc, exc.__traceback__))
        else:
            self._send_response(msg_id, result=future.result())
            return
        self._send_response(msg_id, error=error.to_response_error())

    def _run_generator(self, future: Any, *, gen: Generator[Any, Any, Any], result_future: Future[Any]) -> None:
        """pygls's, but a cancelled step cancels the whole handler instead of raising in a callback,
        and cancelling the handler (``$/cancelRequest``, shutdown) cancels the step running now:
        the coroutine of a ``workspace/executeCommand`` sees ``CancelledError``."""
        if future is not None and future.cancelled():
            gen.close()
            if not result_future.done():
                result_future.cancel()
            return
        if result_future.cancelled():
            gen.close()
            return
        try:
            value = future.result() if future is not None else None
            handler, args, kwargs = gen.send(value)
        except StopIteration as result:
            result_future.set_result(result.value)
            return
        except Exception as exc:  # noqa: BLE001 - the handler's failure is its answer
            result_future.set_exception(exc)
            return
        step_id = f"step:{uuid.uuid4()}"
        self._execute_handler(step_id, handler, args=args, kwargs=kwargs,
                              callback=functools.partial(self._run_generator, gen=gen, result_future=result_future))
        step = self._request_futures.get(step_id)
        if step is not None and not step.done():
            result_future.add_done_callback(lambda outer: step.cancel() if outer.cancelled() else None)

    def _notification_done(self, future: Future[Any], method: str) -> None:
        if future.cancelled() or (exc := future.exception()) is None:
            return
        log.error("the %s handler failed", method, exc_info=(type(exc), exc, exc.__traceback__))

    def _handle_cancel_notification(self, msg_id: MsgId) -> None:
        future = self._request_futures.pop(msg_id, None) if msg_id in self._open else None
        if future is None:
            log.debug("cancel for request %r, which is not in flight", msg_id)
            return
        future.cancel()

    # -- shutdown and exit ---------------------------------------------------------------
    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        """Refuse new requests, answer (cancel) the ones in flight, then close the services."""
        self._shutdown = True
        yield self._settle, (self.msg_id,), None
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        return None

    async def _settle(self, own_id: MsgId | None) -> None:
        pending = {msg_id: self._request_futures.get(msg_id) for msg_id in self._open if msg_id != own_id}
        for future in pending.values():
            if future is not None:
                future.cancel()
        waits = [asyncio.wrap_future(f) if isinstance(f, Future) else f for f in pending.values() if f is not None]
        if waits:
            await asyncio.wait(waits, timeout=SHUTDOWN_GRACE_S)
        await asyncio.sleep(0)  # let the done callbacks answer
        for msg_id in pending:
            if msg_id in self._open:  # a handler that ignored the cancellation (or a thread)
                log.warning("request %r did not end at shutdown; answered as cancelled", msg_id)
                self._open.discard(msg_id)
                error = JsonRpcRequestCancelled(f'Request with id "{msg_id}" is canceled: shutdown')
                self._send_response(msg_id, error=error.to_response_error())

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> None:
        self._exit()

    def _exit(self) -> None:
        if self.exit_code is not None:
            return
        self.exit_code = 0 if self._shutdown else 1
        if self.exit_code:
            log.warning("exit without shutdown: the exit code is 1")
        if self.on_exit is not None:
            self.on_exit(self.exit_code)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _in_own_context(run: Callable[[], None]) -> None:
    contextvars.copy_context().run(run)
