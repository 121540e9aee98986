"""The image path policy: only local files inside the workspace, never secret, ignored or remote ones;
bad image files cost a log line, never a crash."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from lsp_server.config import DEFAULT_SECRET_GLOBS, Settings
from lsp_server.core.secrets import SecretFilter
from lsp_server.engines.image_files import ImageLocator
from lsp_server.engines.image_store import ImageStore
from tests.imagegen import png

SECRETS = SecretFilter(DEFAULT_SECRET_GLOBS + ("*secret*",))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "docs" / "img").mkdir(parents=True)
    (root / "static" / "img").mkdir(parents=True)
    (root / "docs" / "img" / "chart.png").write_bytes(png(10, 10))
    (root / "docs" / "img" / "my chart.png").write_bytes(png(10, 10))
    (root / "static" / "img" / "logo.png").write_bytes(png(10, 10))
    (root / "docs" / "img" / "secret-plan.png").write_bytes(png(10, 10))
    (root / "build").mkdir()
    (root / "build" / "out.png").write_bytes(png(10, 10))
    (root / ".github").mkdir()
    (root / ".github" / "banner.png").write_bytes(png(10, 10))
    (root / ".gitignore").write_text("build/\n*.tmp.png\n")
    (root / "docs" / "x.tmp.png").write_bytes(png(10, 10))
    (root / "docs" / "README.md").write_text("# Docs\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "leak.png").write_bytes(png(10, 10))
    os.symlink(outside / "leak.png", root / "docs" / "link.png")
    os.symlink(root / "docs" / "img" / "chart.png", root / "docs" / "inside-link.png")
    (root / ".env").write_text("TOKEN=x\n")
    os.symlink(root / ".env", root / "docs" / "innocent.png")
    return root


def locate(tree: Path, target: str, site_root: str | None = None, max_bytes: int = 20_000_000):
    return ImageLocator([tree], SECRETS, site_root=site_root, max_bytes=max_bytes).locate(
        target, tree / "docs" / "README.md")


def test_relative_paths_inside_the_workspace(tree: Path) -> None:
    found = locate(tree, "img/chart.png")
    assert found.readable and found.display == "docs/img/chart.png"
    assert locate(tree, "./img/chart.png?v=2#frag").display == "docs/img/chart.png"
    assert locate(tree, "img/my%20chart.png").display == "docs/img/my chart.png"
    assert locate(tree, "../.github/banner.png").readable  # hidden folders are fine, only .gitignore counts
    assert locate(tree, "inside-link.png").display == "docs/img/chart.png"


def test_missing_files_are_local_but_absent(tree: Path) -> None:
    found = locate(tree, "img/nope.png")
    assert found.kind == "local" and not found.exists and found.reason == "the file does not exist"


@pytest.mark.parametrize(("target", "kind"), [
    ("../../outside/leak.png", "outside"),
    ("link.png", "outside"),  # a symlink pointing out of the workspace
    ("img/secret-plan.png", "secret"),
    ("innocent.png", "secret"),  # a symlink to a secret file
    ("../build/out.png", "ignored"),
    ("x.tmp.png", "ignored"),
    ("https://example.com/a.png", "remote"),
    ("http://example.com/a.png", "remote"),
    ("//cdn.example.com/a.png", "remote"),
    ("ftp://example.com/a.png", "remote"),
    ("data:image/png;base64,AAAA", "inline"),
    ("", "unsupported"),
    ("/img/logo.png", "outside"),  # absolute-looking without vision.siteRoot
])
def test_refused_targets(tree: Path, target: str, kind: str) -> None:
    found = locate(tree, target)
    assert found.kind == kind and not found.readable and found.reason


def test_absolute_paths(tree: Path, tmp_path: Path) -> None:
    assert locate(tree, str(tmp_path / "outside" / "leak.png")).kind == "outside"
    assert locate(tree, str(tree / "docs" / "img" / "chart.png")).readable
    assert locate(tree, (tree / "docs" / "img" / "chart.png").as_uri()).readable
    assert locate(tree, (tmp_path / "outside" / "leak.png").as_uri()).kind == "outside"


def test_site_root_for_absolute_looking_paths(tree: Path) -> None:
    found = locate(tree, "/img/logo.png", site_root="static")
    assert found.readable and found.display == "static/img/logo.png"
    assert locate(tree, "/../../outside/leak.png", site_root="static").kind == "outside"


def test_size_limit(tree: Path) -> None:
    found = locate(tree, "img/chart.png", max_bytes=10)
    assert found.kind == "too-large" and not found.readable


def test_no_workspace_folder_means_the_documents_folder(tree: Path) -> None:
    locator = ImageLocator([], SECRETS)
    assert locator.locate("img/chart.png", tree / "docs" / "README.md").readable
    assert locator.locate("../static/img/logo.png", tree / "docs" / "README.md").kind == "outside"


def test_bad_image_files_are_logged_once_never_raised(tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tree / "docs" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (tree / "docs" / "huge.png").write_bytes(png(300, 300))
    store = ImageStore(Settings(vision_max_image_bytes=1_000_000), SECRETS, lambda: [tree])
    doc = tree / "docs" / "README.md"
    with caplog.at_level(logging.WARNING):
        first = store.prepare_sync(store.locate("broken.png", doc))
        again = store.prepare_sync(store.locate("broken.png", doc))
    assert not first.ok and "could not be decoded" in first.reason and again.reason == first.reason
    lines = [r.getMessage() for r in caplog.records if "broken.png" in r.getMessage()]
    assert len(lines) == 1 and "not sent to the model" in lines[0]
    good = store.prepare_sync(store.locate("img/chart.png", doc))
    assert good.ok and store.reads == 2
    assert store.prepare_sync(store.locate("img/chart.png", doc)).image is good.image and store.reads == 2
    refused = store.prepare_sync(store.locate("https://x/y.png", doc))
    assert not refused.ok and "never fetched" in refused.reason
    tiny = ImageStore(Settings(vision_max_image_bytes=500), SECRETS, lambda: [tree])
    assert "maxImageBytes" in tiny.prepare_sync(tiny.locate("huge.png", doc)).reason  # 922 bytes
