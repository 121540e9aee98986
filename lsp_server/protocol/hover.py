"""textDocument/hover on an image reference: what the image shows, its size and its token cost.

One thin handler: find the reference under the cursor (``VisionEngine``), ask for the
description (cached by the image's content, so a second hover makes no request), convert, and
drop the answer if the document changed meanwhile. Images the model may not see (remote,
outside the workspace, secret, ignored, missing, unreadable) get a hover that says why.
"""

from __future__ import annotations

import logging

from lsprotocol import types

from lsp_server.engines.vision import Description, VisionError, VisionEngine, display_path
from lsp_server.protocol.base import MistralServer
from lsp_server.protocol.convert import to_byte, to_position

log = logging.getLogger(__name__)


def _size(width: int, height: int) -> str:
    return f"{width}×{height}"


def render(target: str, description: Description | None, problem: str = "") -> str:
    """The hover's Markdown."""
    head = f"**Image** `{target}`"
    if description is None:
        return f"{head}\n\nNot shown to the model: {problem}"
    image = description.image
    facts = f"{image.format}, {_size(*image.original_size)} px"
    if image.downscaled:
        facts += f", sent as {_size(*image.size)}"
    facts += f" · {image.tokens:,} image tokens ({description.prompt_tokens:,} in the request)"
    source = "cached description" if description.cached else "described by the model"
    return f"{head} · {facts}\n\n{description.text}\n\n*{source}*"


async def hover(ls: MistralServer, params: types.HoverParams) -> types.Hover | None:
    services = ls.services
    doc = services.documents.get(params.text_document.uri) if services is not None else None
    if services is None or doc is None or not services.vision.enabled:
        return None
    vision: VisionEngine = services.vision
    scan = vision.for_document(doc)
    buf = doc.syntax.buffer
    refs = vision.ref_at(scan, to_byte(buf, params.position, ls.encoding))
    if not refs:
        return None
    ref = refs[0]
    version = doc.version
    span = types.Range(start=to_position(buf, ref.span[0], ls.encoding), end=to_position(buf, ref.span[1], ls.encoding))
    located = vision.images.locate(ref.target, doc.path)
    if not located.readable:
        text = render(ref.target, None, located.reason or "the image cannot be read")
    else:
        try:
            text = render(located.display or ref.target, await vision.describe(doc.path, ref))
        except VisionError as exc:
            text = render(located.display or ref.target, None, str(exc))
    if services.documents.get(doc.uri) is not doc or doc.version != version:
        return None  # the text moved on while the model answered: the range would be wrong
    log.debug("hover on image %s in %s", ref.target, display_path(doc.path, services.roots))
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text), range=span)


async def text_document_hover(ls: MistralServer, params: types.HoverParams) -> types.Hover | None:
    try:
        return await hover(ls, params)
    except Exception:  # noqa: BLE001 - fail per feature; CancelledError passes
        log.exception("hover failed")
        return None
