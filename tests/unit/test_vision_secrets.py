"""Every text of an image request passes the secret filter, and so does what the vision cache keeps.

The alt-text prompt carries the heading and the paragraphs around the image, a figure check the
section's lines and its heading: a credential written there never reaches the model. A description
is masked before it is cached and before it is shown, so the first hover and the cached ones read
the same (an image may show a credential, which the model then spells out).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from lsp_server.cache import FindingsCache
from lsp_server.config import Settings
from lsp_server.core.secrets import SecretFilter
from lsp_server.core.text import TextBuffer
from lsp_server.engines.figure_review import FigurePlanner
from lsp_server.engines.image_store import ImageStore
from lsp_server.engines.vision import VisionEngine
from lsp_server.model.health import ModelHealth
from lsp_server.model.tokens import TokenCounter
from lsp_server.syntax.images import ImageScanner
from tests.imagegen import bar_chart
from tests.unit.test_vision_backends import FakeBackend

TOKEN = "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"  # a GitHub token's shape
KEY = "sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
DOC = (f"# Setup {TOKEN}\n"
       "\n"
       f"Set `API_KEY={KEY}` before running the report.\n"
       "\n"
       "![](chart.png)\n"
       "\n"
       "The chart shows sales rising every quarter.\n")


def workspace(root: Path) -> Path:
    (root / "chart.png").write_bytes(bar_chart([10, 20, 30, 40]))
    doc = root / "README.md"
    doc.write_text(DOC, encoding="utf-8")
    return doc


def test_alt_text_prompt_and_cached_description_are_masked(tmp_path: Path) -> None:
    doc = workspace(tmp_path)
    settings = Settings()
    secrets = SecretFilter(settings.secret_globs)
    cache = FindingsCache(None)
    fake = FakeBackend(f"A settings page showing the token {TOKEN}.")
    engine = VisionEngine(settings, fake, ModelHealth(), cache, TokenCounter(),  # type: ignore[arg-type]
                          ImageStore(settings, secrets, lambda: [tmp_path]), ImageScanner(), secrets)
    buffer = TextBuffer(DOC)
    scan = engine.scanner.scan(buffer.data, "markdown")
    ref = scan.refs[0]

    context = engine.context(str(doc), buffer, scan, ref, "README.md")
    fake.answer = "Bar chart of sales"
    asyncio.run(engine.alt_text(str(doc), ref, context))
    sent = json.dumps(fake.asked[-1])
    assert "Setup" in sent and "before running the report" in sent  # the heading and paragraph went
    assert TOKEN not in sent and KEY not in sent

    fake.answer = f"A settings page showing the token {TOKEN}."
    first = asyncio.run(engine.describe(str(doc), ref))
    again = asyncio.run(engine.describe(str(doc), ref))
    assert TOKEN not in first.text and "settings page" in first.text
    assert again.cached and again.text == first.text and len(fake.asked) == 2  # read back from the cache


def test_figure_units_mask_the_section_and_its_heading(tmp_path: Path) -> None:
    doc = workspace(tmp_path)
    settings = Settings()
    secrets = SecretFilter(settings.secret_globs)
    planner = FigurePlanner(settings, ImageStore(settings, secrets, lambda: [tmp_path]), ImageScanner(), secrets)
    buffer = TextBuffer(DOC)
    units = planner.plan_units(buffer, planner.scan(buffer.data, str(doc)), str(doc), display_path="README.md",
                               fingerprint="f")
    assert len(units) == 1
    sent = json.dumps(units[0].messages)
    assert "sales rising every quarter" in sent and "image_url" in sent
    assert TOKEN not in sent and KEY not in sent
