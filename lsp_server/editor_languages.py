"""The languages the server serves, named as editors name them: the one list both clients use.

Three kinds. A language with a tree-sitter grammar in the syntax registry gets everything:
completions with syntax-aware context, review findings and fixes, the symbol index. Code
languages without a grammar here are completed as plain text (the file name and the text
around the cursor are the context; no review). Documents (Markdown, HTML,
reStructuredText) are served for their images (``syntax/images.py``): a hover describing
an image, "Write alt text with AI", missing-alt and broken-link diagnostics, and for the
prose ones (Markdown, reStructuredText) figure checks in reviews; HTML is completed as
plain text like other code, prose only when a completion is asked for (never while
typing). JSX/TSX images get the image features too. VS Code names a language by its
language id, Neovim by its filetype; each entry gives both.

``mistral-lsp languages --json`` prints this list. The clients need it statically (VS Code's
activation events and default ``mistralLSP.languages`` in package.json, Neovim's default
``filetypes`` in lsp/mistral_lsp.lua): ``scripts/sync-editor-languages.py`` writes them from
here, and a test fails when they differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lsp_server.syntax.images import PROSE_SYNTAXES, image_syntax, is_prose
from lsp_server.syntax.languages import LANGUAGE_IDS


@dataclass(frozen=True)
class EditorLanguage:
    """One served language: its VS Code language id, its Neovim filetypes, its grammar."""

    vscode: str
    nvim: tuple[str, ...]
    grammar: str | None  # the syntax registry's language; None: plain text (completions only)

    @property
    def images(self) -> str | None:
        """The syntax its image references are read in (hover, alt text, diagnostics), if any."""
        return image_syntax(self.vscode, "")

    @property
    def features(self) -> tuple[str, ...]:
        if self.grammar:
            served: tuple[str, ...] = ("completion", "review", "index")
        elif is_prose(self.vscode, ""):
            served = ("completion-on-request",)
        else:
            served = ("completion",)
        if self.images:
            served += ("images",)
        if self.images in PROSE_SYNTAXES:
            served += ("figure-review",)
        return served


#: Editor names of the grammar languages (Neovim's filetypes are the same words).
_GRAMMAR_IDS = (
    "python", "javascript", "javascriptreact", "typescript", "typescriptreact",
    "go", "rust", "java", "c", "cpp",
)

#: Code languages without a grammar here, completed as plain text: VS Code id -> Neovim filetypes.
_PLAIN_TEXT: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("csharp", ("cs",)),
    ("php", ("php",)),
    ("ruby", ("ruby",)),
    ("kotlin", ("kotlin",)),
    ("swift", ("swift",)),
    ("scala", ("scala",)),
    ("lua", ("lua",)),
    ("shellscript", ("sh", "bash", "zsh")),
    ("sql", ("sql",)),
)

#: Documents served for their images (docs/vision.md): VS Code id -> Neovim filetypes.
_DOCUMENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("markdown", ("markdown",)),
    ("html", ("html",)),
    ("restructuredtext", ("rst",)),
)

_FEATURE_WORDS = {
    "completion": "completions",
    "review": "review",
    "index": "index",
    "completion-on-request": "completions when asked",
    "images": "images",
    "figure-review": "figure checks",
}


def served_languages() -> list[EditorLanguage]:
    """Every language the clients enable by default: grammar languages, plain-text code, documents."""
    with_grammar = [EditorLanguage(name, (name,), LANGUAGE_IDS[name]) for name in _GRAMMAR_IDS]
    plain = [EditorLanguage(vscode, nvim, None) for vscode, nvim in _PLAIN_TEXT + _DOCUMENTS]
    return with_grammar + plain


def vscode_language_ids() -> list[str]:
    """VS Code language ids, in list order."""
    return [language.vscode for language in served_languages()]


def nvim_filetypes() -> list[str]:
    """Neovim filetypes, in list order."""
    return [filetype for language in served_languages() for filetype in language.nvim]


def as_dict() -> dict[str, Any]:
    """The JSON form of ``mistral-lsp languages --json``."""
    return {
        "languages": [
            {"vscode": lang.vscode, "nvim": list(lang.nvim), "grammar": lang.grammar, "features": list(lang.features)}
            for lang in served_languages()
        ],
        "vscode": vscode_language_ids(),
        "nvim": nvim_filetypes(),
    }


def lines() -> list[str]:
    """The human-readable form of ``mistral-lsp languages``."""
    out = []
    for lang in served_languages():
        names = lang.vscode if lang.nvim == (lang.vscode,) else f"{lang.vscode} (Neovim: {', '.join(lang.nvim)})"
        words = [_FEATURE_WORDS[feature] for feature in lang.features]
        if not lang.grammar and "completion" in lang.features:
            words[0] += " (plain text)"
        out.append(f"{names}: {', '.join(words)}")
    return out
