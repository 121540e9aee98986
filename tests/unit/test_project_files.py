"""Which files exist for a project (``index.project_files``), in git work trees and plain
folders, and the three users (symbol index, editor workspace review, CI review) agreeing."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lsp_server.ci.files import collect
from lsp_server.config import DEFAULT_SECRET_GLOBS
from lsp_server.core.secrets import SecretFilter
from lsp_server.engines.review_files import select_files
from lsp_server.index import WorkspaceIndex
from lsp_server.index import project_files
from lsp_server.index.project_files import WorkspaceFiles
from lsp_server.syntax.languages import LanguageRegistry
from tests.cli.conftest import write

SECRETS = SecretFilter(DEFAULT_SECRET_GLOBS)
GIT_ENV = {
    **os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}

# a project with ignore rules at three levels, a negation, dependency/venv/cache folders
TREE: dict[str, str | bytes] = {
    ".gitignore": "*.log\nbuild/\n/dist\n",
    "main.py": "def main():\n    return 1\n",
    "notes.log": "log\n",
    "build/gen.py": "X = 1\n",
    "dist/bundle.js": "var x = 1;\n",
    "lib/dist/keep.js": "var kept = 1;\n",          # "/dist" is anchored at the root
    "app/.gitignore": "*.py\n!keep.py\nsecret_dir/\n",
    "app/keep.py": "K = 1\n",
    "app/drop.py": "D = 1\n",
    "app/util.ts": "export const u = 1;\n",
    "app/deep/.gitignore": "!again.py\n",
    "app/deep/again.py": "A = 1\n",                 # re-included below the rule that dropped it
    "app/deep/gone.py": "G = 1\n",
    "app/secret_dir/x.go": "package x\n",
    "node_modules/dep/index.js": "module.exports = 1;\n",
    "web/node_modules/dep/index.js": "module.exports = 2;\n",
    "__pycache__/m.py": "M = 1\n",
    ".venv/pyvenv.cfg": "home = /usr\n",
    ".venv/lib/site.py": "S = 1\n",
    "env2/pyvenv.cfg": "home = /usr\n",             # a virtualenv without a dot
    "env2/lib/site.py": "S = 2\n",
    "target/CACHEDIR.TAG": "Signature: 8a477f597d28d172789f06886806bc55\n",  # cargo's build dir
    "target/debug/build.rs": "fn main() {}\n",
    ".idea/x.py": "I = 1\n",
    "src/lib.rs": "pub fn f() {}\n",
    "src/Main.java": "class Main {}\n",
    "src/tab\tname.c": "int x;\n",
    "src/emoji_✓.go": "package src\n",
    ".env": "TOKEN=abc\n",
    "keys/id_rsa.py": "K = 1\n",
    "keys/server.pem": "-----BEGIN-----\n",
    "big.py": "X = 1\n" * 3000,                      # 18000 bytes: above MAX
    "blob.py": b"\x00\x01\x02binary",
}
MAX = 10_000
# what every user reviews or indexes of TREE (supported language, every rule passed)
EXPECTED = {
    "main.py", "lib/dist/keep.js", "app/keep.py", "app/util.ts", "app/deep/again.py", "src/lib.rs",
    "src/Main.java", "src/tab\tname.c", "src/emoji_✓.go",
}
BAD_NAME = os.fsdecode(b"caf\xe9.py")  # not UTF-8: kept as surrogates, as os.scandir gives it


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, env=GIT_ENV)


def make_git(root: Path, *untracked: str) -> None:
    """A repository committing everything in ``root`` but the ``untracked`` folders."""
    git(root, "init", "-q")
    git(root, "add", "-A", "--", ".", *(f":(exclude){folder}" for folder in untracked))
    git(root, "commit", "-q", "-m", "init")


def listed(files: WorkspaceFiles, under: str = "") -> list[str]:
    return [rel for rel in files.paths(under) if rel is not None]


def project(root: Path) -> WorkspaceFiles:
    return WorkspaceFiles(root, SECRETS, max_file_bytes=MAX)


@pytest.fixture(params=["plain", "git"])
def tree(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    write(root, TREE)
    if request.param == "git":  # untracked: git lists them, the folder rules leave them out
        make_git(root, ".idea", ".venv", "env2", "target", "node_modules", "web/node_modules", "__pycache__")
        write(root, {"untracked.py": "U = 1\n", "app/untracked_drop.py": "V = 1\n"})
    return root


def test_listing_honours_nested_gitignore_negations_and_skip_folders(tree: Path) -> None:
    files = project(tree)
    names = set(listed(files))
    in_git = (tree / ".git").exists()
    assert (files.git_list() is not None) == in_git
    for rel in ("main.py", "lib/dist/keep.js", "app/keep.py", "app/deep/again.py", ".env", "big.py"):
        assert rel in names, rel
    for rel in ("notes.log", "build/gen.py", "dist/bundle.js", "app/drop.py", "app/deep/gone.py",
                "app/secret_dir/x.go", "node_modules/dep/index.js", "web/node_modules/dep/index.js",
                "__pycache__/m.py", ".venv/lib/site.py", "env2/lib/site.py", "target/debug/build.rs",
                ".idea/x.py", "app/untracked_drop.py"):
        assert rel not in names, rel
    assert ("untracked.py" in names) == in_git  # git's untracked-but-not-ignored files count
    assert not any(rel.startswith(".git/") for rel in names)


def test_listing_is_shallow_first_and_sorted(tree: Path) -> None:
    names = listed(project(tree))
    depths = [rel.count("/") for rel in names]
    assert depths == sorted(depths)
    assert names == sorted(names, key=lambda rel: (rel.count("/"), rel.split("/")))


def test_accepts_matches_the_listing(tree: Path) -> None:
    files = project(tree)
    names = set(listed(files))
    every = {p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file() and ".git/" not in
             p.relative_to(tree).as_posix() + "/"}
    for rel in every:
        if files.supported(rel) and not SECRETS.is_secret_path(rel):
            assert files.accepts(rel) == (rel in names), rel


async def test_three_users_agree(tree: Path) -> None:
    index = WorkspaceIndex(tree, LanguageRegistry(), SECRETS, max_file_bytes=MAX, text_delay_s=0.05)
    await index.build()
    indexed = set(index.table.paths())
    await index.aclose()
    editor = select_files(tree, SECRETS, max_bytes=MAX, limit=1000)
    ci = collect(tree, [tree], SECRETS, max_bytes=MAX)
    expected = EXPECTED | ({"untracked.py"} if (tree / ".git").exists() else set())
    assert {p.relative_to(tree).as_posix() for p in editor.files} == expected
    assert {p.relative_to(tree).as_posix() for p in ci.files} == expected
    assert indexed == expected  # the binary file is dropped when the index reads it
    for notes in (editor.skipped, ci.skipped):
        assert "big.py: 18000 bytes, above the size limit" in notes
        assert "blob.py: binary" in notes
        assert "keys/id_rsa.py: secret file, never sent" in notes
        assert not any(note.startswith(("app/drop.py", "node_modules", ".venv", ".env:")) for note in notes)
    assert editor.skipped == [n for n in ci.skipped if "unsupported languages" not in n]


def test_git_tracked_file_counts_even_when_ignored_and_hidden_folders_when_tracked(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write(root, {"a.py": "A = 1\n", ".github/scripts/check.py": "C = 1\n", "vendor/lib.py": "L = 1\n"})
    make_git(root)
    write(root, {".gitignore": "vendor/\n", ".github/scripts/new.py": "N = 1\n", ".cache/x.py": "X = 1\n"})
    files = project(root)
    names = set(listed(files))
    assert {"a.py", ".github/scripts/check.py", "vendor/lib.py"} <= names  # tracked: git's list wins
    # untracked in a tracked hidden folder: listed (not ignored); in an untracked hidden one: not
    assert ".github/scripts/new.py" in names and ".cache/x.py" not in names
    assert files.accepts("vendor/lib.py") and files.accepts(".github/scripts/check.py")
    assert not files.accepts(".cache/x.py")
    # the walk of the same folder (git gone) follows the rules by itself
    os.rename(root / ".git", tmp_path / "git-moved")
    walked = set(listed(project(root)))
    assert "vendor/lib.py" not in walked and ".github/scripts/check.py" not in walked and "a.py" in walked


def test_subfolder_listing_and_root_inside_a_repository(tree: Path) -> None:
    files = project(tree)
    assert set(listed(files, "app")) == {rel for rel in listed(project(tree)) if rel.startswith("app/")}
    inner = project(tree / "src")  # a workspace opened at a folder of the repository
    assert set(listed(inner)) == {"lib.rs", "Main.java", "tab\tname.c", "emoji_✓.go"}


def test_symlink_loops_end_and_links_out_are_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write(root, {"a/x.py": "X = 1\n"})
    (root / "a" / "loop").symlink_to(root / "a")            # folder loop
    (root / "self.py").symlink_to(root / "self.py")        # file loop
    (tmp_path / "outside.py").write_text("O = 1\n")
    (root / "out.py").symlink_to(tmp_path / "outside.py")
    (root / "in.py").symlink_to(root / "a" / "x.py")
    for in_git in (False, True):
        if in_git:
            make_git(root)
        files = project(root)
        names = listed(files)
        assert not any(rel.startswith("a/loop/") for rel in names)
        assert files.check("out.py").reason == "outside"
        assert files.check("in.py").candidate is not None
        loop = files.check("self.py")
        assert loop.reason == "unreadable" and loop.note.startswith("unreadable (")
        review = select_files(root, SECRETS, max_bytes=MAX, limit=100)
        assert "out.py: symbolic link out of the folder, not followed" in review.skipped
        assert {p.name for p in review.files} == {"x.py", "in.py"}


def test_unreadable_folder_and_file_are_skipped_not_fatal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "ws"
    write(root, {"ok.py": "A = 1\n", "locked/x.py": "B = 1\n", "open/y.py": "C = 1\n"})
    real_scandir, real_open = os.scandir, open

    def scandir(path: str | os.PathLike[str]) -> object:
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def fake_open(path: object, *args: object, **kwargs: object) -> object:
        if str(path).endswith("y.py"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(project_files.os, "scandir", scandir)
    monkeypatch.setattr(project_files, "open", fake_open, raising=False)
    files = project(root)
    assert listed(files) == ["ok.py", "open/y.py"]
    verdict = files.check("open/y.py", content=True)
    assert verdict.reason == "unreadable" and verdict.note == "unreadable (Permission denied)"
    review = select_files(root, SECRETS, max_bytes=MAX, limit=100)
    assert [p.name for p in review.files] == ["ok.py"]
    assert review.skipped == ["open/y.py: unreadable (Permission denied)"]


@pytest.mark.parametrize("in_git", [False, True])
def test_non_utf8_file_names(tmp_path: Path, in_git: bool) -> None:
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / BAD_NAME).write_text("def f():\n    return 1\n")
    (root / os.fsdecode(b"d\xff")).mkdir()
    (root / os.fsdecode(b"d\xff") / "m.py").write_text("M = 1\n")
    if in_git:
        make_git(root)
    files = project(root)
    names = set(listed(files))
    expected = {f"pkg/{BAD_NAME}", os.fsdecode(b"d\xff") + "/m.py"}
    assert names == expected
    assert all(files.check(rel, content=True).candidate is not None for rel in names)
    review = select_files(root, SECRETS, max_bytes=MAX, limit=100)
    ci = collect(root, [root], SECRETS, max_bytes=MAX)
    assert {p.relative_to(root).as_posix() for p in review.files} == expected
    assert {p.relative_to(root).as_posix() for p in ci.files} == expected
    assert all(p.is_file() for p in ci.files)


def test_without_git_the_walk_gives_gits_answer(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answer = set(listed(project(tree)))  # git's in a work tree

    def no_git(*args: object, **kwargs: object) -> object:
        raise FileNotFoundError("git")

    monkeypatch.setattr(project_files.subprocess, "run", no_git)
    files = project(tree)
    assert files.git_list() is None
    assert set(listed(files)) == answer


def test_ci_named_files_and_subfolders(tree: Path) -> None:
    ci = collect(tree, [tree / "app", tree / "app" / "drop.py", tree / "notes.log"], SECRETS, max_bytes=MAX)
    rels = [p.relative_to(tree).as_posix() for p in ci.files]
    assert rels == ["app/deep/again.py", "app/drop.py", "app/keep.py", "app/util.ts"]  # named: taken as named
    assert "notes.log: unsupported language" in ci.skipped


def test_index_walk_counts_what_check_left_out(tree: Path) -> None:
    files = project(tree)
    paths = [c.path for c in files.walk(files.git_list()) if c is not None]
    assert set(paths) == EXPECTED | {"blob.py"} | ({"untracked.py"} if (tree / ".git").exists() else set())
    assert files.skipped["too_large"] == 1 and files.skipped["secret"] == 1  # keys/id_rsa.py (.env: no language)
