"""The registry of CI output formats: name -> ``render(report, *, color) -> Rendered``.

``FORMAT_NAMES`` (default first) feeds the CLI's ``--format`` choices;
``render(name, report)`` dispatches. The registry is a read-only mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol

from lsp_server.reporting import github, gitlab, json_format, markdown, rdjsonl, sarif, text
from lsp_server.reporting.report import Report, Rendered


class Renderer(Protocol):
    def __call__(self, report: Report, *, color: bool = False) -> Rendered: ...


FORMATS: Mapping[str, Renderer] = MappingProxyType({
    "text": text.render,
    "json": json_format.render,
    "sarif": sarif.render,
    "github": github.render,
    "rdjsonl": rdjsonl.render,
    "gitlab": gitlab.render,
    "markdown": markdown.render,
})

FORMAT_NAMES: tuple[str, ...] = tuple(FORMATS)
DEFAULT_FORMAT = "text"


def render(name: str, report: Report, *, color: bool = False) -> Rendered:
    """Render ``report`` in format ``name`` (one of ``FORMAT_NAMES``); ValueError otherwise."""
    try:
        renderer = FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; choose one of: {', '.join(FORMAT_NAMES)}") from None
    return renderer(report, color=color)
