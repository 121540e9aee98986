#!/usr/bin/env python3
"""Write the server's language list (lsp_server/editor_languages.py) into the editor clients.

    scripts/sync-editor-languages.py           rewrite the clients' lists
    scripts/sync-editor-languages.py --check   exit 1 (and say what differs) if they are stale

VS Code: package.json's activationEvents (one ``onLanguage:`` per language; the commands
activate the extension by themselves) and the default of ``mistralLSP.languages``.
Neovim: the ``filetypes`` of lsp/mistral_lsp.lua, between its ``-- languages:`` markers.
tests/unit/test_editor_languages.py runs the check.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lsp_server.editor_languages import nvim_filetypes, vscode_language_ids  # noqa: E402

PACKAGE_JSON = ROOT / "editor-clients" / "vscode" / "package.json"
NVIM_CONFIG = ROOT / "editor-clients" / "nvim" / "lsp" / "mistral_lsp.lua"
NVIM_BLOCK = re.compile(r"(  -- languages: begin[^\n]*\n)(.*?)(  -- languages: end\n)", re.S)


def package_json(text: str) -> str:
    data = json.loads(text)
    ids = vscode_language_ids()
    data["activationEvents"] = [f"onLanguage:{language}" for language in ids]
    categories = data["contributes"]["configuration"]
    for category in categories if isinstance(categories, list) else [categories]:
        if "mistralLSP.languages" in category.get("properties", {}):
            category["properties"]["mistralLSP.languages"]["default"] = ids
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def nvim_config(text: str) -> str:
    if not NVIM_BLOCK.search(text):
        raise SystemExit(f"{NVIM_CONFIG}: no '-- languages: begin' / '-- languages: end' block")
    body = "  filetypes = {\n" + "".join(f"    '{filetype}',\n" for filetype in nvim_filetypes()) + "  },\n"
    return NVIM_BLOCK.sub(lambda m: m.group(1) + body + m.group(3), text, count=1)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Write the server's language list into the editor clients "
                                     "(VS Code package.json, Neovim lsp/mistral_lsp.lua).")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 and say which lists are stale")
    check = parser.parse_args(argv).check
    stale = []
    for path, render in ((PACKAGE_JSON, package_json), (NVIM_CONFIG, nvim_config)):
        old = path.read_text(encoding="utf-8")
        new = render(old)
        if new == old:
            continue
        stale.append(path.relative_to(ROOT).as_posix())
        if not check:
            path.write_text(new, encoding="utf-8")
    if check and stale:
        print(f"stale language lists in {', '.join(stale)}: run scripts/sync-editor-languages.py", file=sys.stderr)
        return 1
    print(f"{'updated' if stale else 'up to date'}: {', '.join(stale) or 'package.json, mistral_lsp.lua'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
