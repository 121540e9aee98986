"""workspace/executeCommand: status, toggle completions, clear the completion cache."""

from __future__ import annotations

from typing import Any

from lsp_server.protocol.base import MistralServer

STATUS = "mistral-lsp.status"
TOGGLE_COMPLETIONS = "mistral-lsp.toggleCompletions"
CLEAR_CACHE = "mistral-lsp.clearCache"


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
        "model": services.settings.model,
        "servedModels": services.served_models,
        "maxModelLen": engine.max_model_len,
        "completionsEnabled": engine.enabled,
        "lastCompletionLatencyMs": stats.last_latency_ms,
        "tokenizer": "exact" if services.tokens.exact else "estimate",
        "openDocuments": len(services.documents),
        "requests": stats.requests,
        "modelCalls": stats.model_calls,
        "cacheHits": stats.cache_hits,
        "superseded": stats.superseded,
        "droppedInvalid": stats.dropped_invalid,
        "errors": stats.errors,
        "reasons": dict(stats.reasons),
    }


def register(server: MistralServer) -> None:
    @server.command(STATUS)
    def status_command(ls: MistralServer) -> dict[str, Any]:
        return status(ls)

    @server.command(TOGGLE_COMPLETIONS)
    def toggle(ls: MistralServer) -> dict[str, Any]:
        if ls.services is None:
            return {"completionsEnabled": False}
        return {"completionsEnabled": ls.services.toggle_completions()}

    @server.command(CLEAR_CACHE)
    def clear_cache(ls: MistralServer) -> dict[str, Any]:
        if ls.services is not None:
            ls.services.completion.clear_cache()
        return {"cleared": True}
