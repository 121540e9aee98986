"""Which files a review looks at: documents (Markdown, reStructuredText) only when they show an
image, both in the editor's workspace review (``select_files``) and in the CI review outside git
(``collect``)."""

from __future__ import annotations

from pathlib import Path

from lsp_server.ci.files import collect
from lsp_server.config import DEFAULT_SECRET_GLOBS
from lsp_server.core.secrets import SecretFilter
from lsp_server.engines.review_files import select_files, shows_images

SECRETS = SecretFilter(DEFAULT_SECRET_GLOBS)
FILES: dict[str, str] = {
    "inline.md": "# T\n\nText.\n\n![chart](c.png)\n",  # image at the end
    "html.md": "<p>\n<IMG src='c.png' alt='c'>\n</p>\n",  # raw HTML, any case
    "reference.md": "![chart][c]\r\n\r\n[c]: c.png\r\n",  # CRLF, image at the start
    "cjk.md": "# 图表\n\t![销售 😀](图/c.png)\n说明。\n",
    "figure.rst": "Title\n=====\n\n.. figure:: c.png\n\n   Caption.\n",
    "substitution.rst": "See |logo|.\n\n.. |logo| image:: logo.png\n",
    "plain.md": "# Plain\n\nNo pictures: a [link](x.md), a `note` and an exclamation!\n",
    "plain.rst": "Title\n=====\n\n.. note:: An image would need a directive.\n",
    "empty.md": "",
    "app.py": "X = 1\n",  # code files are reviewed whatever they contain
}
WITH_IMAGES = {"inline.md", "html.md", "reference.md", "cjk.md", "figure.rst", "substitution.rst"}


def _tree(root: Path) -> Path:
    for name, text in FILES.items():
        (root / "docs").mkdir(parents=True, exist_ok=True)
        (root / "docs" / name).write_bytes(text.encode("utf-8"))
    return root


def test_shows_images_by_syntax(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    found = {name for name in FILES if name != "app.py" and shows_images(root / "docs" / name)}
    assert found == WITH_IMAGES
    assert not shows_images(root / "docs" / "app.py")  # no document syntax at all


def test_the_workspace_review_takes_documents_only_when_they_show_images(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    with_documents = select_files(root, SECRETS, max_bytes=100_000, limit=100, documents=True)
    assert {p.name for p in with_documents.files} == WITH_IMAGES | {"app.py"}
    assert with_documents.skipped == [] and not with_documents.truncated
    code_only = select_files(root, SECRETS, max_bytes=100_000, limit=100)
    assert [p.name for p in code_only.files] == ["app.py"]


def test_documents_without_images_do_not_use_up_the_limit(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "a").mkdir(parents=True)
    for i in range(5):
        (root / "a" / f"plain{i}.md").write_text("# No image\n", encoding="utf-8")
    (root / "b.md").write_text("![x](x.png)\n", encoding="utf-8")
    selection = select_files(root, SECRETS, max_bytes=100_000, limit=1, documents=True)
    assert [p.name for p in selection.files] == ["b.md"] and not selection.truncated


def test_the_ci_review_outside_git_names_a_document_without_images_only_when_asked(tmp_path: Path) -> None:
    root = _tree(tmp_path).resolve()
    whole = collect(root, [root], SECRETS, max_bytes=100_000, documents=True)
    assert {p.name for p in whole.files} == WITH_IMAGES | {"app.py"} and whole.skipped == []
    named = collect(root, [root / "docs" / "plain.md", root / "docs" / "empty.md", root / "docs" / "cjk.md"],
                    SECRETS, max_bytes=100_000, documents=True)
    assert [p.name for p in named.files] == ["cjk.md"]
    assert named.skipped == ["docs/plain.md: no image, so no figure to check",
                             "docs/empty.md: no image, so no figure to check"]
    off = collect(root, [root / "docs" / "inline.md"], SECRETS, max_bytes=100_000)
    assert off.files == [] and off.skipped == ["docs/inline.md: unsupported language"]
