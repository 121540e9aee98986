"""Routine records of pygls are debug, not warnings (issue 17 item 23)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from lsp_server import log_filters


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def capture() -> Iterator[_Capture]:
    pygls = logging.getLogger("pygls.protocol.json_rpc")
    own = logging.getLogger(log_filters.OWN_LOGGER)
    saved = (list(pygls.filters), pygls.level, own.level)
    handler = _Capture()
    pygls.addHandler(handler)
    pygls.setLevel(logging.WARNING)
    log_filters.install()
    log_filters.install()  # twice: still one filter
    try:
        yield handler
    finally:
        pygls.removeHandler(handler)
        pygls.filters[:] = saved[0]
        pygls.setLevel(saved[1])
        own.setLevel(saved[2])


def test_cancel_for_an_unknown_id_is_dropped_at_info(capture: _Capture) -> None:
    logging.getLogger(log_filters.OWN_LOGGER).setLevel(logging.INFO)
    pygls = logging.getLogger("pygls.protocol.json_rpc")
    assert sum(isinstance(f, log_filters.DemoteRoutine) for f in pygls.filters) == 1
    pygls.warning('Cancel notification for unknown message id "%s"', 17)
    pygls.warning("Failed to handle request %s", 3)  # a real warning stays one
    assert [(r.levelname, r.getMessage()) for r in capture.records] == [("WARNING", "Failed to handle request 3")]


def test_cancel_for_an_unknown_id_is_debug_at_debug(capture: _Capture) -> None:
    logging.getLogger(log_filters.OWN_LOGGER).setLevel(logging.DEBUG)
    logging.getLogger("pygls.protocol.json_rpc").warning('Cancel notification for unknown message id "%s"', 17)
    assert [(r.levelname, r.getMessage()) for r in capture.records] == [
        ("DEBUG", 'Cancel notification for unknown message id "17"')
    ]
