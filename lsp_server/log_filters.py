"""Log records of the libraries underneath that are routine, not warnings: demoted to debug.

pygls warns ``Cancel notification for unknown message id`` whenever ``$/cancelRequest``
arrives for a request that was already answered. While typing that is the normal race
(the editor cancels a completion the server has just answered), so it belongs at debug
level: shown only when the server's own log level is ``debug``.
"""

from __future__ import annotations

import logging

#: (logger name, message format) of records that are routine.
ROUTINE = (
    ("pygls.protocol.json_rpc", "Cancel notification for unknown message id"),
)

#: The logger whose level decides whether debug records are shown.
OWN_LOGGER = "lsp_server"


class DemoteRoutine(logging.Filter):
    """Turns a routine record into a DEBUG record, dropped unless the server logs at debug."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(self.prefix):
            return True
        record.levelno = logging.DEBUG
        record.levelname = logging.getLevelName(logging.DEBUG)
        return logging.getLogger(OWN_LOGGER).isEnabledFor(logging.DEBUG)


def install() -> None:
    """Attach the filters (once each) to the loggers that emit the routine records."""
    for name, prefix in ROUTINE:
        logger = logging.getLogger(name)
        if not any(isinstance(f, DemoteRoutine) and f.prefix == prefix for f in logger.filters):
            logger.addFilter(DemoteRoutine(prefix))
