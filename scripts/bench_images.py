#!/usr/bin/env python3
"""Time the image path's pieces: scanning a document on each change, linting it, preparing an image.

- scan: ``ImageScanner.scan`` of Markdown, reStructuredText and HTML documents of 2,000 and 10,000
  lines (what every ``didChange`` of such a document costs): Markdown with an image every 50 lines,
  every 5 lines (the worst case: every paragraph is parsed inline) and none (not parsed at all);
- lint: the model-free diagnostics of the Markdown document (every image located, one stat each);
- prepare: ``prepare_image`` of a small PNG (sent as it is), a 4000x3000 screenshot-like PNG and a
  4000x3000 JPEG photo (both scaled down to 1540 and re-encoded), and an SVG (rasterised).

Prints p50/p95 per item. Usage: scripts/bench_images.py [--rounds N]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw  # noqa: E402

from lsp_server.config import Settings  # noqa: E402
from lsp_server.core.secrets import SecretFilter  # noqa: E402
from lsp_server.core.text import TextBuffer  # noqa: E402
from lsp_server.engines.image_store import ImageStore  # noqa: E402
from lsp_server.model.images import ImageSettings, prepare_image  # noqa: E402
from lsp_server.syntax.images import ImageScanner  # noqa: E402
from tests.imagegen import SVG_CHART, bar_chart, png  # noqa: E402


def markdown(lines: int, image_every: int = 50) -> str:
    """Sections every 100 lines, paragraphs of 5 lines, an image every ``image_every`` lines."""
    out = []
    for i in range(lines):
        if i % 100 == 0:
            out.append(f"## Section {i} 😀")
        elif i % image_every == 0:
            out.append(f"Text before ![Chart {i}](img/chart{i % 7}.png) and after, 中文.")
        elif i % 5 == 0:
            out.append("")
        else:
            out.append(f"Line {i}: some prose with *emphasis*, `code` and a [link](https://example.com/{i}).")
    return "\n".join(out) + "\n"


def rst(lines: int) -> str:
    out = []
    for i in range(lines):
        if i % 100 == 0:
            out += [f"Section {i}", "=" * 20, ""]
        elif i % 20 == 0:
            out += ["", f".. image:: img/chart{i % 7}.png", "   :alt: A chart", ""]
        else:
            out.append(f"Line {i}: some prose with *emphasis* and ``code``.")
    return "\n".join(out) + "\n"


def html(lines: int) -> str:
    body = [f'<p>Line {i} <img src="img/chart{i % 7}.png" alt="c"></p>' if i % 20 == 0 else f"<p>Line {i} text</p>"
            for i in range(lines)]
    return "<html><body>\n" + "\n".join(body) + "\n</body></html>\n"


def timed(fn: Callable[[], object], rounds: int) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def photo(width: int, height: int) -> bytes:
    image = Image.effect_noise((width, height), 40).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def screenshot(width: int, height: int) -> bytes:
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for y in range(0, height, 40):
        draw.rectangle([20, y + 5, width - 20, y + 30], outline="gray", fill="#eef")
        draw.text((30, y + 10), f"Row {y // 40}: a setting and its value", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    scanner = ImageScanner()
    print(f"{'item':<52} {'p50 ms':>9} {'p95 ms':>9}")
    for lines in (300, 2000, 10000):
        for name, syntax, text in (("Markdown", "markdown", markdown(lines)),
                                   ("Markdown (image every 5 lines)", "markdown", markdown(lines, 5)),
                                   ("Markdown (no image)", "markdown", markdown(lines, lines + 1)),
                                   ("reStructuredText", "rst", rst(lines)), ("HTML", "html", html(lines))):
            data = text.encode()
            refs = len(scanner.scan(data, syntax).refs)
            p50, p95 = timed(lambda: scanner.scan(data, syntax), args.rounds)
            print(f"{f'scan {name}, {lines:,} lines, {refs} images':<60} {p50:9.1f} {p95:9.1f}")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "img").mkdir()
        for i in range(0, 7, 2):  # some images exist, some are broken links
            (root / "img" / f"chart{i}.png").write_bytes(bar_chart([1, 2, 3]))
        doc = root / "README.md"
        text = markdown(2000)
        doc.write_text(text)
        settings = Settings()
        store = ImageStore(settings, SecretFilter(settings.secret_globs), lambda: [root])
        from lsp_server.engines.vision import VisionEngine

        engine = VisionEngine(settings, None, None, None, None, store, scanner,  # type: ignore[arg-type]
                              SecretFilter(settings.secret_globs))
        buffer = TextBuffer(text)
        scan = scanner.scan(buffer.data, "markdown")
        found = len(engine.lint(str(doc), buffer, scan))
        p50, p95 = timed(lambda: engine.lint(str(doc), buffer, scan), args.rounds)
        print(f"{f'lint Markdown, 2,000 lines ({found} diagnostics)':<52} {p50:9.1f} {p95:9.1f}")
    settings_image = ImageSettings()
    for name, data in (("prepare a 320x200 PNG (sent as it is)", bar_chart([10, 20, 30, 40])),
                       ("prepare a 4000x3000 screenshot PNG (-> 1540x1155)", screenshot(4000, 3000)),
                       ("prepare a 4000x3000 JPEG photo (-> 1540x1155)", photo(4000, 3000)),
                       ("prepare a 1000x1000 PNG (sent as it is)", png(1000, 1000)),
                       ("prepare an SVG chart (rasterised)", SVG_CHART.encode())):
        p50, p95 = timed(lambda: prepare_image(data, settings_image), max(3, args.rounds // 4))
        print(f"{name:<52} {p50:9.1f} {p95:9.1f}")


if __name__ == "__main__":
    main()
