"""tree-sitter: language registry, incremental documents, context extraction."""
