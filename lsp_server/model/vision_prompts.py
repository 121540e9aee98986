"""Prompts that show the model images: describe (hover), alt text, figure checks; and their token count.

Pure functions of plain values; image parts come from ``model/images.py`` (``PreparedImage``).
Every text handed in is already secret-masked by the caller. The user turn is a list of
OpenAI-style content parts (``text`` and ``image_url``), as the model card shows.

``prompt_tokens`` counts a request exactly as a Mistral v11 tokenizer renders it (Mistral-Small-3.2:
``<s>[SYSTEM_PROMPT]…[/SYSTEM_PROMPT][INST]…[/INST]``, every text part encoded on its own, each
image its ``[IMG]``/``[IMG_BREAK]``/``[IMG_END]`` grid), given a function that counts a text's
tokens; the unit tests hold it equal to mistral-common's own encoding of the same request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lsp_server.model.images import PreparedImage

DESCRIBE_PROMPT_VERSION = "describe-1"
ALT_PROMPT_VERSION = "alt-1"
FIGURE_PROMPT_VERSION = "figure-1"
FIGURE_RULE = "figure-text-mismatch"
# A 2x2 white PNG: the image `mistral-lsp check` shows the server.
PROBE_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a730000001649444154789c63fcffff"
    "3f030303130303030303030024060301fc35de9b0000000049454e44ae426082"
)
# <s>, [SYSTEM_PROMPT], [/SYSTEM_PROMPT], [INST], [/INST]: what a v11 tokenizer adds around a
# system prompt and one user turn.
_TEMPLATE_TOKENS = 5

DESCRIBE_SYSTEM_PROMPT = (
    "You are mistral-lsp, describing an image from a software project to a developer in their "
    "code editor. Be factual and concise; write Markdown. First say in one line what kind of "
    "image it is. Then: for a chart, its kind, the axes with their labels and units, the series, "
    "and the values or the trend it shows; for a screenshot, what the user interface shows (the "
    "screen, its main controls and any text or state that stands out); for a diagram, its parts "
    "and how they connect, in order; for a photo or anything else, what it shows. Quote any text "
    "in the image exactly. Do not guess what is not visible. At most about 150 words."
)

ALT_SYSTEM_PROMPT = (
    "You write alt text for images in documentation: one short sentence that tells a reader who "
    "cannot see the image what it shows and why it is there, in the document's language. For a "
    "chart, say what it shows and its main trend or value; for a screenshot, what screen it is; "
    "for a diagram, what it depicts. Do not start with \"Image of\", \"Picture of\" or \"Alt "
    "text:\"; no quotes, no Markdown, no line breaks. At most {limit} characters. Answer with the "
    "alt text only."
)

FIGURE_SYSTEM_PROMPT = (
    "You are mistral-lsp, checking a section of documentation against the images it shows. "
    "The section's lines are numbered; its images follow, each introduced by the path it is "
    "shown with. Compare every statement the text makes about what an image shows (numbers, "
    "trends, labels, colours, steps or parts of a diagram, what a screenshot contains) with the "
    "image itself. Report only real contradictions: the text says something the image clearly "
    "shows to be different. Do not report missing detail, style, or statements the image cannot "
    "confirm or deny. If nothing contradicts, answer {\"findings\": []}.\n\n"
    "Answer with JSON only: {\"findings\": [{\"line\", \"quote\", \"severity\", \"rule\", "
    "\"message\", \"fix\"}]}, where\n"
    "- line: the number shown at the left of the sentence that is contradicted;\n"
    "- quote: that sentence's words, copied exactly from that line (without the number and the `|`);\n"
    "- severity: warning, or error when a number or a label is plainly wrong;\n"
    "- rule: " + FIGURE_RULE + ";\n"
    "- message: what the image shows instead, in one or two sentences, naming the image;\n"
    "- fix: null, or {\"start_line\", \"end_line\", \"replacement\"}: the corrected whole line(s), "
    "only when the correction is certain."
)


@dataclass(frozen=True)
class ImageContext:
    """Where an image is shown: its document and the text around it (all masked)."""

    document: str  # the document's path, for the model's orientation
    target: str  # the image's path as written
    alt: str = ""
    heading: str = ""
    paragraph: str = ""


def _user(parts: Sequence[str | PreparedImage]) -> dict[str, Any]:
    """A user turn of text and image parts. Adjacent texts are joined with a blank line, as
    mistral-common's request normalizer would join them, so what we count is what is encoded."""
    content: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, PreparedImage):
            content.append(part.part())
        elif part and content and content[-1]["type"] == "text":
            content[-1]["text"] += "\n\n" + part
        elif part:
            content.append({"type": "text", "text": part})
    return {"role": "user", "content": content}


def describe_messages(image: PreparedImage) -> list[dict[str, Any]]:
    """Describe one image (the hover). The image alone decides the answer, so it is cached by
    its content, whichever document shows it."""
    return [{"role": "system", "content": DESCRIBE_SYSTEM_PROMPT}, _user([image, "Describe this image."])]


def alt_messages(image: PreparedImage, context: ImageContext, limit: int) -> list[dict[str, Any]]:
    """Write alt text for one image, given the heading and paragraph around it."""
    lines = [f"Document: {context.document}", f"Image path: {context.target}"]
    if context.heading:
        lines.append(f"Section heading: {context.heading}")
    if context.paragraph:
        lines.append(f"Text around the image:\n{context.paragraph}")
    return [{"role": "system", "content": ALT_SYSTEM_PROMPT.format(limit=limit)},
            _user(["\n".join(lines), image, f"Write the alt text (at most {limit} characters)."])]


def figure_messages(document: str, heading: str, lines: Sequence[tuple[int, str]],
                    images: Sequence[tuple[str, PreparedImage]]) -> list[dict[str, Any]]:
    """Check one section's text against the images it shows (the review's figure units)."""
    width = len(str(lines[-1][0])) if lines else 1
    numbered = "\n".join(f"{number:>{width}} | {text}" for number, text in lines)
    parts: list[str | PreparedImage] = [
        f"Document: {document}\nSection: {heading or '(before the first heading)'}\n\n{numbered}"]
    for target, image in images:
        parts.append(f"Image `{target}`:")
        parts.append(image)
    parts.append("Report the sentences these images contradict, as JSON.")
    return [{"role": "system", "content": FIGURE_SYSTEM_PROMPT}, _user(parts)]


def prompt_tokens(messages: Sequence[dict[str, Any]], count_text: Callable[[str], int],
                  image_tokens: Callable[[str], int]) -> int:
    """The prompt's token count as a v11 Mistral tokenizer renders a system + user request.

    ``image_tokens`` maps an image part's URL to its token count (``PreparedImage.tokens``).
    """
    total = _TEMPLATE_TOKENS
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            total += count_text(content)
            continue
        for part in content or ():
            if part.get("type") == "text":
                total += count_text(str(part.get("text", "")))
            elif part.get("type") == "image_url":
                total += image_tokens(str(part["image_url"]["url"]))
    return total


_PREFIXES = re.compile(r"^(?:alt(?:ernative)?[ -]?text|description|caption)\s*[:\-–]\s*", re.I)
_IMAGE_OF = re.compile(r"^(?:an?\s+)?(?:image|picture|photo|graphic|screenshot)\s+(?:of|showing)\s+", re.I)
_MARKUP = re.compile(r"[*_`#>]+|!\[|\]\([^)]*\)")


def clean_alt_text(raw: str, limit: int) -> str:
    """The model's answer as one line of alt text: no quotes, labels, Markdown or line breaks;
    at most ``limit`` characters, cut at a word (a sentence end when one is near)."""
    text = raw.strip()
    for fence in ("```", "'''"):
        if text.startswith(fence):
            text = text.strip("`'").strip()
    text = " ".join(text.split())
    text = _PREFIXES.sub("", text)
    text = _MARKUP.sub("", text).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'“”‘’":
        text = text[1:-1].strip()
    text = text.strip("\"“”").strip()
    match = _IMAGE_OF.match(text)
    if match and len(text) > match.end():
        text = text[match.end()].upper() + text[match.end() + 1:]
    if len(text) > limit:
        cut = text[:limit + 1]
        sentence = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
        if sentence >= min(limit // 4, 20):
            text = cut[:sentence + 1]
        else:
            space = cut.rfind(" ")
            text = (cut[:space] if space > 0 else cut[:limit]).rstrip(" ,;:-–")
    return text.strip()
