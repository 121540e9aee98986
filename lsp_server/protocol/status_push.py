"""The ``mistral-lsp/status`` notification: the status readout, pushed the moment it changes.

A client that declares ``experimental.mistralLsp.statusNotification = true`` in its
capabilities (both shipped clients do) gets the object the ``mistral-lsp.status`` command
answers whenever the settings in use or the model server's state change: when the
editor's settings are applied after ``initialized``, after a configuration change, when
the model server is found, lost or back. A status item then never shows settings that are
no longer in use while it waits for its next poll. Other clients get nothing extra.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from lsp_server.protocol.base import MistralServer
from lsp_server.protocol.commands import status

log = logging.getLogger(__name__)

STATUS_NOTIFICATION = "mistral-lsp/status"


def wants_status(ls: MistralServer) -> bool:
    """Did the client ask for status notifications (``experimental.mistralLsp.statusNotification``)?"""
    try:
        experimental: Any = ls.client_capabilities.experimental
    except (AttributeError, RuntimeError):  # not initialized yet
        return False
    ours = experimental.get("mistralLsp") if isinstance(experimental, Mapping) else None
    return isinstance(ours, Mapping) and ours.get("statusNotification") is True


def push_status(ls: MistralServer) -> None:
    """Send the current status to a client that wants it; never raises."""
    if ls.services is None or not wants_status(ls):
        return
    try:
        ls.protocol.notify(STATUS_NOTIFICATION, status(ls))
    except Exception as exc:  # noqa: BLE001 - a closed transport must not break the caller
        log.debug("could not send %s: %s", STATUS_NOTIFICATION, exc)
