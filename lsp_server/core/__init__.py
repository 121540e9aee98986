"""Plain values shared by every layer: text buffers, spans, snapshots."""
