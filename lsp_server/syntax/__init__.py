"""tree-sitter: language registry, incremental documents, context extraction, and the functions
and stub bodies the AI actions work on."""
