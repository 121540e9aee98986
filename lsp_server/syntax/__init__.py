"""tree-sitter: language registry, incremental documents, context extraction, and image references
in Markdown, HTML, JSX/TSX and reStructuredText (``images*``, ``image_alt``)."""
