"""workspace/executeCommand: status, toggle completions, review file/workspace, clear caches.

``reviewFile`` (argument: the document URI) answers when the review is done;
``reviewWorkspace`` (optional argument: a folder path or URI, default the workspace
root) starts a background review with cancellable progress and answers at once with
the number of files (a long-running command could not be cancelled, and pygls 2.1
fails a shutdown that arrives while one is running). Both answers carry a ``message``: the
sentence every client shows the user as it is, so the editors say the same thing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsp_server.engines.documents import file_path
from lsp_server.protocol.base import MistralServer
from lsp_server.protocol.diagnostics import attach, pulls

STATUS = "mistral-lsp.status"
TOGGLE_COMPLETIONS = "mistral-lsp.toggleCompletions"
CLEAR_CACHE = "mistral-lsp.clearCache"
REVIEW_FILE = "mistral-lsp.reviewFile"
REVIEW_WORKSPACE = "mistral-lsp.reviewWorkspace"


def review_status(ls: MistralServer) -> dict[str, Any]:
    """Review counters for the status command."""
    services = ls.services
    if services is None:
        return {}
    review = services.review
    engine = services.review_engine.stats
    settings = services.settings
    return {
        "enabled": settings.review_enabled,
        "triggers": list(settings.review_triggers),
        "diagnostics": "pull" if pulls(ls) else "push",
        "running": review.running,
        "reviews": review.stats.reviews,
        "completedReviews": review.stats.completed,
        "cancelledReviews": review.stats.cancelled,
        "lastReviewMs": review.stats.last_review_ms,
        "units": engine.units,
        "cachedUnits": engine.cached,
        "modelCalls": engine.model_calls,
        "findings": engine.findings,
        "droppedFindings": engine.dropped_findings,
        "droppedFixes": engine.dropped_fixes,
        "errors": engine.errors,
        "lastError": engine.last_error,
        "cacheEntries": len(services.findings_cache),
        "cacheFile": str(services.findings_cache.path) if services.findings_cache.path else None,
    }


def _uri_argument(args: tuple[Any, ...]) -> str | None:
    if not args:
        return None
    first = args[0]
    if isinstance(first, dict):
        first = first.get("uri")
    return first if isinstance(first, str) and first else None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _display_name(ls: MistralServer, uri: str) -> str:
    """The file as the user knows it: relative to the workspace root, else its name."""
    local = file_path(uri)
    if local is None:
        return uri.rsplit("/", 1)[-1] or uri
    root = ls.workspace.root_path
    if root:
        try:
            return Path(local).relative_to(root).as_posix()
        except ValueError:
            pass
    return Path(local).name


def _review_file_message(name: str, answer: dict[str, Any], min_severity: str) -> str:
    if not answer.get("reviewed"):
        return f"{name} was not reviewed: {answer.get('reason') or 'no reason given'}"
    shown, found = answer["shown"], answer["findings"]
    text = f"reviewed {name}: {_plural(shown, 'finding') if shown else 'no findings'}"
    if found > shown:
        text += f" ({found - shown} below review.minSeverity {min_severity} not shown)"
    if answer["errors"]:
        text += f"; {_plural(len(answer['errors']), 'unit')} failed: {answer['errors'][0]}"
    return text


def _folder(ls: MistralServer, args: tuple[Any, ...]) -> Path | None:
    given = _uri_argument(args)
    if given is not None:
        return Path(file_path(given) or given)
    root = ls.workspace.root_path
    return Path(root) if root else None


def status(ls: MistralServer) -> dict[str, Any]:
    """What a status bar or health check shows: model state, latency, counters."""
    services = ls.services
    if services is None:
        return {"state": "starting"}
    engine = services.completion
    stats = engine.stats
    return {
        "state": services.health.state,
        "reason": services.health.reason,
        "endpoint": services.settings.endpoint,
        "backend": services.backend_status(),
        "model": services.settings.model,
        "servedModels": services.served_models,
        "maxModelLen": engine.max_model_len,
        "completionsEnabled": engine.enabled,
        "lastCompletionLatencyMs": stats.last_latency_ms,
        "tokenizer": "exact" if services.tokens.exact else "estimate",
        "openDocuments": len(services.documents),
        # the open documents not read as one whole syntax tree, and how they are read instead
        "syntax": {doc.uri: mode for doc in services.documents.all() if (mode := doc.syntax_mode) != "tree"},
        "requests": stats.requests,
        "modelCalls": stats.model_calls,
        "cacheHits": stats.cache_hits,
        "superseded": stats.superseded,
        "droppedInvalid": stats.dropped_invalid,
        "errors": stats.errors,
        "reasons": dict(stats.reasons),
        "review": review_status(ls),
        "index": _index_status(services),
        "actions": _actions_status(services),
    }


def _actions_status(services: Any) -> dict[str, Any]:
    engine = services.actions
    stats = engine.stats
    return {
        "enabled": engine.settings.actions_enabled,
        "available": [spec.name for spec in engine.actions()],
        "runs": stats.runs,
        "modelCalls": stats.model_calls,
        "applied": stats.applied,
        "refused": stats.refused,
        "errors": stats.errors,
        "lastRefusal": stats.last_refusal,
    }


def _index_status(services: Any) -> dict[str, Any]:
    knowledge = services.knowledge
    indexes = knowledge.stats()
    return {
        "enabled": knowledge.enabled,
        "fileEvents": knowledge.disk_source if indexes else None,
        "ready": bool(indexes) and all(i["ready"] for i in indexes),
        "files": sum(i["files"] for i in indexes),
        "symbols": sum(i["symbols"] for i in indexes),
        "roots": [i["root"] for i in indexes],
        # the last build: files parsed, and files reused from the store (unchanged content)
        "parsed": sum(i["last_build"]["reparsed"] for i in indexes),
        "reused": sum(i["last_build"]["unchanged"] + i["last_build"]["reused"] + i["last_build"]["rehashed"]
                      for i in indexes),
        "buildSeconds": round(max((i["last_build"]["seconds"] for i in indexes), default=0.0), 2),
    }


def status_command(ls: MistralServer) -> dict[str, Any]:
    return status(ls)


def toggle(ls: MistralServer) -> dict[str, Any]:
    if ls.services is None:
        return {"completionsEnabled": False}
    return {"completionsEnabled": ls.services.toggle_completions()}


def clear_cache(ls: MistralServer) -> dict[str, Any]:
    removed = ls.services.clear_caches() if ls.services is not None else 0
    return {"cleared": True, "reviewEntries": removed}


async def review_file(ls: MistralServer, *args: Any) -> dict[str, Any]:
    answer = await _review_file(ls, args)
    uri = _uri_argument(args)
    name = _display_name(ls, uri) if uri else "the file"
    severity = ls.services.settings.review_min_severity if ls.services is not None else "info"
    answer["message"] = _review_file_message(name, answer, severity)
    return answer


async def review_workspace(ls: MistralServer, *args: Any) -> dict[str, Any]:
    review = attach(ls)
    folder = _folder(ls, args)
    if review is None or folder is None or not folder.is_dir():
        return {"started": False, "reason": "no workspace folder",
                "message": "workspace review not started: no workspace folder"}
    files, skipped = review.review_workspace(folder, lambda path: path.relative_to(folder).as_posix())
    message = f"reviewing {_plural(files, 'file')} in the background" + (f" ({len(skipped)} skipped)" if skipped else "")
    return {"started": True, "files": files, "skipped": skipped, "message": message}


async def _review_file(ls: MistralServer, args: tuple[Any, ...]) -> dict[str, Any]:
    review = attach(ls)
    uri = _uri_argument(args)
    if review is None or uri is None:
        return {"reviewed": False, "reason": "give the document URI as the argument"}
    if ls.services is None or ls.services.documents.get(uri) is None:
        return {"reviewed": False, "reason": "the document is not open"}
    result = await review.review_now(uri)
    if result is None:
        return {"reviewed": False, "reason": "nothing reviewed (unsupported language or binary file, or the document changed meanwhile)"}
    return {
        "reviewed": not result.skipped,
        "reason": result.skipped,
        "units": result.units,
        "cachedUnits": result.cached,
        "findings": len(result.findings),
        "shown": len(review.visible(uri)),
        "errors": list(result.errors),
    }
