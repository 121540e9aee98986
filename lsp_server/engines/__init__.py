"""Engines: completion, review (scheduling, planning, tools, workspace reviews), fixes and "Fix
with AI", the documents they read, and the symbol index's feeding; free of any LSP types (they take
and return plain values; ``protocol/`` converts)."""
