"""CI output formats: one module per format, each a pure ``render(report) -> Rendered``."""
