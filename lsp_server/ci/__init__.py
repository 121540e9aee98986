"""The headless review (``mistral-lsp review``): git, file selection, runner, progress. No pygls here."""
