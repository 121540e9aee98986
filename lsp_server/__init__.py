"""mistral-lsp: a language server for a self-hosted Mistral-Small-3.2 behind vLLM."""

__version__ = "0.1.0"
