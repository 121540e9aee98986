"""One language list, from the server: the editor clients' defaults cannot drift from it (issue 17
item 24). VS Code's activation events and default ``mistralLSP.languages``, and Neovim's default
``filetypes``, are compared with ``lsp_server.editor_languages`` here, and the ``languages``
command prints that list.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

from lsp_server import editor_languages
from lsp_server.cli import main
from lsp_server.syntax.images import DOCUMENT_LANGUAGE_IDS, image_syntax
from lsp_server.syntax.languages import LANGUAGE_IDS, SPECS

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_JSON = ROOT / "editor-clients" / "vscode" / "package.json"
NVIM_CONFIG = ROOT / "editor-clients" / "nvim" / "lsp" / "mistral_lsp.lua"


def _vscode_languages_default(package: dict) -> list[str]:
    categories = package["contributes"]["configuration"]
    for category in categories if isinstance(categories, list) else [categories]:
        if "mistralLSP.languages" in category.get("properties", {}):
            return category["properties"]["mistralLSP.languages"]["default"]
    raise AssertionError("no mistralLSP.languages setting in package.json")


def _nvim_filetypes(text: str) -> list[str]:
    block = re.search(r"filetypes = \{(.*?)\}", text, re.S)
    assert block, "no filetypes in lsp/mistral_lsp.lua"
    return re.findall(r"'([^']+)'", block.group(1))


def test_every_grammar_language_is_served_and_every_served_grammar_exists() -> None:
    served = editor_languages.served_languages()
    grammars = {lang.grammar for lang in served if lang.grammar}
    assert grammars == set(SPECS), "every language with a grammar is in the editors' list"
    for lang in served:
        images = ("images",) if image_syntax(lang.vscode, "") else ()
        if lang.grammar:
            assert LANGUAGE_IDS[lang.vscode] == lang.grammar  # the server maps the editor's id to it
            assert lang.features == ("completion", "review", "index") + images
        else:
            assert lang.vscode not in LANGUAGE_IDS  # no grammar: completed as plain text
            assert lang.features[0] in ("completion", "completion-on-request") and lang.features[1:2] == images[:1]


def test_documents_are_served_for_their_images_and_prose_gets_no_ghost_text() -> None:
    """Markdown, HTML and reStructuredText are in the list for their images (hover, alt text,
    diagnostics); the prose ones have their figures reviewed and are completed only on request."""
    features = {lang.vscode: lang.features for lang in editor_languages.served_languages()}
    assert features["markdown"] == ("completion-on-request", "images", "figure-review")
    assert features["restructuredtext"] == ("completion-on-request", "images", "figure-review")
    assert features["html"] == ("completion", "images")
    assert features["typescriptreact"] == ("completion", "review", "index", "images")  # JSX <img>
    assert features["typescript"] == ("completion", "review", "index")
    assert {"markdown", "html", "rst"} <= set(editor_languages.nvim_filetypes())
    # every document language the image scanner reads is served
    assert set(DOCUMENT_LANGUAGE_IDS) <= set(editor_languages.vscode_language_ids())


def test_the_lists_have_no_duplicates() -> None:
    ids = editor_languages.vscode_language_ids()
    filetypes = editor_languages.nvim_filetypes()
    assert len(ids) == len(set(ids)) and len(filetypes) == len(set(filetypes))


def test_vscode_activation_and_default_languages_are_the_servers_list() -> None:
    package = json.loads(PACKAGE_JSON.read_text())
    ids = editor_languages.vscode_language_ids()
    assert package["activationEvents"] == [f"onLanguage:{language}" for language in ids]
    assert _vscode_languages_default(package) == ids
    assert "onStartupFinished" not in package["activationEvents"] and "*" not in package["activationEvents"]


def test_neovim_default_filetypes_are_the_servers_list() -> None:
    assert _nvim_filetypes(NVIM_CONFIG.read_text()) == editor_languages.nvim_filetypes()


def test_the_sync_script_agrees_and_can_fix_drift() -> None:
    script = ROOT / "scripts" / "sync-editor-languages.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # a client list edited by hand is caught (and rewritten by the script)
    spec = importlib.util.spec_from_file_location("sync_editor_languages", script)
    assert spec and spec.loader
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    drifted = NVIM_CONFIG.read_text().replace("    'go',\n", "")
    assert _nvim_filetypes(drifted) != editor_languages.nvim_filetypes()
    assert _nvim_filetypes(sync.nvim_config(drifted)) == editor_languages.nvim_filetypes()
    package = json.loads(PACKAGE_JSON.read_text())
    package["activationEvents"] = ["onStartupFinished"]
    fixed = json.loads(sync.package_json(json.dumps(package)))
    assert fixed["activationEvents"][0] == "onLanguage:python"


def test_languages_command(capsys) -> None:
    assert main(["languages", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["vscode"] == editor_languages.vscode_language_ids()
    assert printed["nvim"] == editor_languages.nvim_filetypes()
    python = printed["languages"][0]
    assert python == {"vscode": "python", "nvim": ["python"], "grammar": "python",
                      "features": ["completion", "review", "index"]}
    assert main(["languages"]) == 0
    text = capsys.readouterr().out
    assert "shellscript (Neovim: sh, bash, zsh): completions (plain text)" in text
    assert "restructuredtext (Neovim: rst): completions when asked, images, figure checks" in text
