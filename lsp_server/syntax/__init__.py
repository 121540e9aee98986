"""tree-sitter: language registry, incremental documents, context extraction, the functions and
stub bodies the AI actions work on, and image references in Markdown, HTML, JSX/TSX and
reStructuredText (``images*``, ``image_alt``)."""
