"""Engines: completion, review (scheduling, planning, tools, workspace reviews), fixes and "Fix
with AI", the AI actions (implement, optimise, explain, document, write tests, edit, the user's
own; with the project's test layout), vision (image diagnostics, hover descriptions, "Write alt
text with AI", figure checks of documents, and the image files they read), and the documents
they read; free of any LSP types (they take and return plain values;
``protocol/`` converts)."""
