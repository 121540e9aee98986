"""Plain values and small mechanisms shared by every layer, with no LSP, model or parser types.

Text and line breaks (``text``, and ``lines``: the line index in blocks), findings
(``findings``), the secret filter (``secrets`` and its ``secret_*`` parts), owned background
tasks (``tasks``), foreground gaps for background work (``foreground``), the SQLite opening both
caches share (``sqlite``) and the process exit codes (``exit_codes``).
"""
