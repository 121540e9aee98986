"""AI actions over LSP: code actions listed cheaply and resolved lazily, and their commands.

``offer`` turns the engine's offers into code actions without calling the model: an action
that edits code carries its place in ``data`` and gets its edit in ``codeAction/resolve``; an
explanation, an action that needs an instruction, and every action for clients that do not
resolve edits lazily carry the ``mistral-lsp.runAction`` command instead. The commands:

- ``mistral-lsp.runAction`` ``{action, uri, range, instruction?, display?, apply?}``: runs the
  action; edits go to the client with ``workspace/applyEdit`` (one undo step), an explanation
  comes back as Markdown (``display: "client"``, what the mistral-lsp clients ask for; else
  it is also shown as a message); answers ``{ok, message, markdown?, title?, note?,
  needsInstruction?, cancelled?}``.
- ``mistral-lsp.listActions`` ``{uri, range}``: the actions that apply there (for pickers).
- ``mistral-lsp.showNote`` ``text``: shows a resolved action's note (Optimise's reason) after
  its edit is applied.

Work-done progress appears once an action takes longer than a moment; cancelling it, or
``$/cancelRequest``, cancels the action and closes its model stream.

Each handler converts (``convert``), makes one engine call (``ActionEngine.offers`` or
``ActionEngine.perform``, which follows an offered place onto the current text itself)
and converts the outcome back.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from lsprotocol import converters, types

from lsp_server.config_actions import ActionSpec
from lsp_server.core.text import TextBuffer
from lsp_server.engines.action_outcome import ActionOutcome
from lsp_server.engines.actions import Pointed
from lsp_server.engines.documents import OpenDocument, file_path
from lsp_server.protocol.base import MistralServer
from lsp_server.protocol.convert import (
    client_points, encoding_of, range_bytes, range_json, read_range, takes_document_changes, text_edits,
    workspace_edit,
)
from lsp_server.protocol.progress import WorkDoneProgress

log = logging.getLogger(__name__)

ACTION = "mistral-lsp.action"  # the kind of a code action's data
RUN_ACTION = "mistral-lsp.runAction"
LIST_ACTIONS = "mistral-lsp.listActions"
SHOW_NOTE = "mistral-lsp.showNote"
PROGRESS_DELAY_S = 0.4  # an action quicker than this shows no progress


def kind_of(spec: ActionSpec) -> str:
    """The code action kind: in-place rewrites under ``refactor.rewrite``, the others under ``refactor``."""
    if spec.output in ("explain", "tests"):
        return f"refactor.ai.{spec.name}"
    return f"refactor.rewrite.ai.{spec.name}"


def roots(ls: MistralServer) -> list[Path]:
    folders = [file_path(folder.uri) for folder in ls.workspace.folders.values()]
    found = [Path(path) for path in folders if path]
    if not found and ls.workspace.root_path:
        found = [Path(ls.workspace.root_path)]
    return found


def offer(ls: MistralServer, doc: OpenDocument, rng: types.Range, lazy: bool) -> list[types.CodeAction]:
    """The AI actions at ``rng`` as code actions (no model call)."""
    services = ls.services
    if services is None:
        return []
    start, end = range_bytes(doc.syntax.buffer, rng, ls.encoding)
    actions = []
    for found in services.actions.offers(doc, start, end, roots(ls)):
        spec = found.spec
        args = {"action": spec.name, "uri": doc.uri, "version": doc.version, "digest": found.digest,
                "range": range_json(rng)}
        if lazy and not spec.explains and not spec.asks_instruction:
            actions.append(types.CodeAction(title=found.title, kind=kind_of(spec), data={"kind": ACTION, **args}))
        else:
            args["title"] = found.title
            if spec.asks_instruction:
                args["ask"] = "instruction"  # the client asks the user, then sends ``instruction``
            command = types.Command(title=found.title, command=RUN_ACTION, arguments=[args])
            actions.append(types.CodeAction(title=found.title, kind=kind_of(spec), command=command))
    return actions


async def _run(ls: MistralServer, args: dict[str, Any], instruction: str | None) -> tuple[OpenDocument | None,
                                                                                            ActionOutcome]:
    """Run the action ``args`` names, with progress; cancellation passes through."""
    services = ls.services
    name, uri = str(args.get("action") or ""), str(args.get("uri") or "")
    rng = read_range(args.get("range") or args.get("position") and {"start": args["position"]})
    if services is None:
        return None, ActionOutcome.refusal("the server is starting")
    if not name or not uri or rng is None:
        return None, ActionOutcome.refusal("give the action's name, the document URI and a range")
    doc = services.documents.get(uri)
    if doc is None:
        return None, ActionOutcome.refusal("the document is not open")
    spec = services.actions.find(name)  # (its title, for the progress)
    version = args.get("version")
    at = Pointed(*client_points(rng), encoding_of(ls.encoding),
                 version if isinstance(version, int) and not isinstance(version, bool) else None)
    expected = args.get("digest") if isinstance(args.get("digest"), str) else None
    job = asyncio.ensure_future(services.actions.perform(
        doc, name, at, roots=roots(ls), instruction=instruction, expected=expected,
        on_lines=lambda lines: progress.lines(lines)))
    progress = _LateProgress(ls, spec.title.rstrip("…") if spec else name, job)
    try:
        return doc, await job
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            job.cancel()
            raise  # $/cancelRequest: the request answers as cancelled
        return doc, ActionOutcome.refusal("cancelled")
    finally:
        progress.close()


class _LateProgress:
    """A cancellable progress bar that appears only once the action takes a moment."""

    def __init__(self, ls: MistralServer, title: str, job: asyncio.Future[Any]) -> None:
        self._ls, self._title, self._job = ls, title, job
        self._bar: WorkDoneProgress | None = None
        self._lines = 0
        self._timer = asyncio.get_running_loop().call_later(PROGRESS_DELAY_S, self._show)

    def _show(self) -> None:
        if not self._job.done():
            self._bar = WorkDoneProgress(self._ls, self._title, cancellable=True, kind="action",
                                         on_cancel=self._job.cancel)

    def lines(self, count: int) -> None:
        self._lines = count
        if self._bar is not None:
            self._bar.say(f"{count} line{'s' if count != 1 else ''} written")

    def close(self) -> None:
        self._timer.cancel()
        if self._bar is not None:
            self._bar.finish("done" if not self._job.cancelled() else "cancelled")


def outcome_edit(ls: MistralServer, doc: OpenDocument, outcome: ActionOutcome) -> types.WorkspaceEdit | None:
    """The outcome's edits as one workspace edit (None: the client cannot take them)."""
    caps = ls.client_capabilities.workspace if ls.client_capabilities else None
    edit_caps = caps.workspace_edit if caps is not None else None
    operations = set(edit_caps.resource_operations or ()) if edit_caps else set()
    changes: list[tuple[str, int | None, list[types.TextEdit]]] = []
    if outcome.edits:
        changes.append((doc.uri, doc.version, text_edits(doc.syntax.buffer, outcome.edits, ls.encoding)))
    creates = [change.uri for change in outcome.files if change.create]
    # resource operations only exist in documentChanges: a client that declares them takes those
    if creates and types.ResourceOperationKind.Create not in operations:
        return None
    for change in outcome.files:
        changes.append((change.uri, change.version, text_edits(TextBuffer(change.text), change.edits, ls.encoding)))
    return workspace_edit(changes, versioned=takes_document_changes(ls.client_capabilities), creates=creates)


def _tell(ls: MistralServer, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
    ls.window_show_message(types.ShowMessageParams(type=kind, message=f"mistral-lsp: {message}"))


async def resolve(ls: MistralServer, action: types.CodeAction) -> types.CodeAction:
    """``codeAction/resolve`` of an AI action: run it, attach the validated edit."""
    data = action.data if isinstance(action.data, dict) else {}
    doc, outcome = await _run(ls, data, None)
    if outcome.refused or doc is None:
        _tell(ls, f"{action.title}: {outcome.refused or 'nothing to do'}")
        return action
    edit = outcome_edit(ls, doc, outcome)
    if edit is None:
        _tell(ls, f"{action.title}: this editor cannot create files through the language server")
        return action
    action.edit = edit
    if outcome.note:
        action.command = types.Command(title="Why", command=SHOW_NOTE, arguments=[outcome.note])
    return action


async def run_command(ls: MistralServer, args: dict[str, Any]) -> dict[str, Any]:
    """``mistral-lsp.runAction``: run, apply with ``workspace/applyEdit``, answer what happened."""
    instruction = args.get("instruction") if isinstance(args.get("instruction"), str) else None
    doc, outcome = await _run(ls, args, instruction)
    title = outcome.title or str(args.get("action") or "action")
    if outcome.refused or doc is None:
        reason = outcome.refused or "nothing to do"
        return {"ok": False, "message": reason, "needsInstruction": outcome.needs_instruction,
                "cancelled": reason == "cancelled"}
    if outcome.markdown is not None:
        if args.get("display") != "client":
            _tell(ls, f"{title}\n\n{outcome.markdown}")
        return {"ok": True, "message": title, "title": title, "markdown": outcome.markdown}
    edit = outcome_edit(ls, doc, outcome)
    if edit is None:
        return {"ok": False, "message": "this editor cannot create files through the language server"}
    if args.get("apply") is False:
        return {"ok": True, "message": title, "edit": converters.get_converter().unstructure(edit), "note": outcome.note}
    answer = await asyncio.shield(ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label=title)))
    if not answer.applied:
        return {"ok": False, "message": f"the editor did not apply the edit: {answer.failure_reason or 'no reason given'}"}
    if outcome.note:
        _tell(ls, outcome.note)
    return {"ok": True, "message": title, "note": outcome.note}


def list_command(ls: MistralServer, args: dict[str, Any]) -> list[dict[str, Any]]:
    """``mistral-lsp.listActions``: what applies at ``{uri, range}``."""
    services = ls.services
    doc = services.documents.get(str(args.get("uri") or "")) if services else None
    rng = read_range(args.get("range") or {})
    if services is None or doc is None or rng is None:
        return []
    start, end = range_bytes(doc.syntax.buffer, rng, ls.encoding)
    return [{"action": o.spec.name, "title": o.title, "asksInstruction": o.spec.asks_instruction,
             "output": o.spec.output, "builtin": o.spec.builtin, "digest": o.digest}
            for o in services.actions.offers(doc, start, end, roots(ls))]


def _first_dict(args: tuple[Any, ...]) -> dict[str, Any]:
    return args[0] if args and isinstance(args[0], dict) else {}


async def run_action(ls: MistralServer, *args: Any) -> dict[str, Any]:
    try:
        return await run_command(ls, _first_dict(args))
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - fail per feature
        log.exception("AI action failed")
        return {"ok": False, "message": f"the action failed: {type(exc).__name__}: {exc}"}


def list_actions(ls: MistralServer, *args: Any) -> list[dict[str, Any]]:
    try:
        return list_command(ls, _first_dict(args))
    except Exception:  # noqa: BLE001 - fail per feature
        log.exception("listing AI actions failed")
        return []


def show_note(ls: MistralServer, *args: Any) -> dict[str, Any]:
    text = str(args[0]) if args else ""
    if text:
        _tell(ls, text)
    return {"shown": bool(text)}
