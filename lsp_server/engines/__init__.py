"""Engines: completion (and later review and fixes), free of any LSP types."""
