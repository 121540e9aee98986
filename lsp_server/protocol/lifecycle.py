"""initialize / initialized / configuration changes / shutdown.

Settings are resolved at ``initialize`` from initializationOptions, the environment
and the project file; at ``initialized`` the client's ``mistralLsp`` configuration
section is pulled (when the client supports it) and the result re-resolved, then the
workspace symbol index starts in the background (``workspace.py``). Once the client has
answered (or pushed) the section as a table, that table is the editor's settings and
initializationOptions no longer count, so a setting removed in the editor is gone. Bad
settings are logged, shown to the user once, and replaced by the next layer's value.
A status change is pushed to clients that asked for it (``status_push.py``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lsprotocol import types

from lsp_server.config import load_settings
from lsp_server.model.health import HealthChange
from lsp_server.protocol.base import MistralServer
from lsp_server.protocol.status_push import push_status
from lsp_server.protocol.workspace import start_index, workspace_roots
from lsp_server.services import Services

log = logging.getLogger(__name__)
SECTION = "mistralLsp"


class Session:
    """What initialize learned that later handlers need: one per server, given to the handlers
    below as their ``session`` argument by the routing table (``routes.py``)."""

    def __init__(self) -> None:
        self.root: Path | None = None
        self.roots: list[Path] = []
        self.init_options: Mapping[str, Any] = {}
        self.editor_config: Mapping[str, Any] | None = None  # None: the client has not answered

    def editor_layer(self) -> dict[str, Any]:
        source = self.init_options if self.editor_config is None else self.editor_config
        inner = source.get(SECTION, source)
        return dict(inner) if isinstance(inner, Mapping) else {}


def _report(ls: MistralServer, problems: list[str]) -> None:
    for problem in problems:
        log.warning("settings: %s", problem)
    if problems:
        ls.tell_once(
            "settings:" + "|".join(problems),
            "some settings were ignored (the next source or the default is used): " + "; ".join(problems),
        )


def _health_notifier(ls: MistralServer) -> Any:
    def notify(change: HealthChange) -> None:
        if change.state == "unavailable":
            log.warning("model server unavailable: %s", change.reason)
            ls.window_show_message(
                types.ShowMessageParams(
                    type=types.MessageType.Warning,
                    message=f"mistral-lsp: completions are paused: {change.reason}. "
                    "They resume by themselves when the model server answers.",
                )
            )
        else:
            log.info("model server available again")
            ls.window_show_message(
                types.ShowMessageParams(type=types.MessageType.Info, message="mistral-lsp: model server is back")
            )
        push_status(ls)

    return notify


def initialize(ls: MistralServer, params: types.InitializeParams, *, session: Session) -> None:
    session.roots = workspace_roots(params)
    session.root = session.roots[0] if session.roots else None  # where the project file is read
    options = params.initialization_options
    session.init_options = options if isinstance(options, Mapping) else {}
    settings, problems = load_settings(session.editor_layer(), root=session.root)
    ls.apply_log_level(settings.log_level)
    ls.services = Services(settings, on_health=_health_notifier(ls))
    ls.services.roots = list(session.roots)  # images are read only inside the workspace folders
    ls.services.knowledge.expect(session.roots)  # reviews of files opened meanwhile wait for it
    ls.pending_problems = problems
    log.info("settings: %s", settings.describe())


async def initialized(ls: MistralServer, params: types.InitializedParams, *, session: Session) -> None:
    services = ls.services
    if services is None:
        return
    _report(ls, ls.pending_problems)
    services.start_warm_up()  # grammars, then the tokenizer, in a start-up thread
    await _pull_configuration(ls, session)
    push_status(ls)
    await start_index(ls, session.roots)
    await services.discover_model()
    push_status(ls)
    await ls.protocol.warm_converters()


async def did_change_configuration(ls: MistralServer, params: types.DidChangeConfigurationParams, *,
                                   session: Session) -> None:
    if isinstance(params.settings, Mapping) and params.settings.get(SECTION) is not None:
        session.editor_config = params.settings
        reconnected = await _apply(ls, session)
    else:
        reconnected = await _pull_configuration(ls, session)
    if reconnected and ls.services is not None:
        await ls.services.discover_model()
    push_status(ls)


async def shutdown(ls: MistralServer, *args: Any) -> None:
    await ls.close_services()


async def _pull_configuration(ls: MistralServer, session: Session) -> bool:
    caps = ls.client_capabilities.workspace
    if not (caps and caps.configuration):
        return False
    try:
        answer = await ls.workspace_configuration_async(
            types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
        )
    except Exception as exc:  # noqa: BLE001 - the client may not answer; keep what we have
        log.warning("workspace/configuration failed: %s", exc)
        return False
    first = answer[0] if answer else None
    session.editor_config = first if isinstance(first, Mapping) else None
    return await _apply(ls, session)


async def _apply(ls: MistralServer, session: Session) -> bool:
    """Re-resolve settings; True when the model client was rebuilt."""
    if ls.services is None:
        return False
    settings, problems = load_settings(session.editor_layer(), root=session.root, environ=os.environ)
    _report(ls, problems)
    if settings != ls.services.settings:
        log.info("settings changed: %s", settings.describe())
        ls.apply_log_level(settings.log_level)
        return await ls.services.apply_settings(settings)
    return False
