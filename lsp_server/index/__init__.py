"""The workspace symbol index: tree-sitter definitions of every indexable file, persisted
under the cache dir, kept fresh from the editor and the disk (no LSP types here).

Modules: ``symbols`` (values), ``patterns``/``nodes``/``imports``/``extract`` (one file
-> symbols), ``project_files`` (which files exist for a project: the one owner, also asked
by the editor's and the CI review), ``store`` (SQLite), ``tables`` (in memory), ``content``
(reading, hashing, digest reuse), ``build`` (one build run), ``resolve`` (imports ->
definitions), ``pacing`` (event-loop slices), ``workspace`` (``WorkspaceIndex``), ``watch``
(``IndexFeeds``, ``FileWatcher``), ``tools`` (model tool calls), and ``knowledge``
(``WorkspaceKnowledge``: one index per workspace folder, built, fed and queried: what the
completion and review engines and the CI review hold).
"""

from lsp_server.index.build import BuildStats
from lsp_server.index.store import IndexStore
from lsp_server.index.symbols import FileSymbols, Import, Symbol
from lsp_server.index.watch import FileWatcher, IndexFeeds, watch_globs
from lsp_server.index.workspace import WorkspaceIndex

__all__ = [
    "BuildStats", "FileSymbols", "FileWatcher", "Import", "IndexFeeds", "IndexStore", "Symbol",
    "WorkspaceIndex", "watch_globs",
]
