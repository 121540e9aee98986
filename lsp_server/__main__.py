"""``python -m lsp_server`` runs the command line, same as ``mistral-lsp``."""

from lsp_server.cli import main

raise SystemExit(main())
