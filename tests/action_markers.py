"""Which AI action a model request is (from the last paragraph its user message ends with): the
stand-in's scripted answers and the tests' assertions tell the actions apart by it."""

from __future__ import annotations

from typing import Any

#: What each built-in action's request says.
ACTION_MARKERS = {
    "implement": "\nImplement `",
    "optimise": "\nOptimise this code",
    "explain": "\nExplain this code",
    "document": "\nWrite the documentation of",
    "tests": "\nWrite unit tests for",
    "edit": "\nRewrite this code",
}


def action_of(body: dict[str, Any]) -> str:
    """The action a chat request is for: a built-in's name, "other" for the user's own, "" for no action."""
    messages = body.get("messages") or []
    user = next((m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"), "")
    if not isinstance(user, str):
        return ""
    found = next((name for name, marker in ACTION_MARKERS.items() if marker in user), None)
    if found:
        return found
    system = messages[0].get("content", "") if messages and isinstance(messages[0], dict) else ""
    return "other" if "The user points at some code" in str(system) else ""
