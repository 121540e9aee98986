"""Move a completion's lines from the model's indentation to the file's.

The model indents as it likes: four spaces in a tab-indented Go file, two spaces
in a four-space Python file, tabs in a space-indented one. The cleaner keeps its
lines as written ("model space"); ``reindent`` maps each line's indentation level
to the file's unit and characters (tabs or spaces), keeping alignment spaces
below one level as they were.

The model's unit is read from the answer itself: the most common step between
the indentation widths of consecutive lines. Only answers indented with spaces
alone are measured (an answer that uses tabs follows a tab-indented file, or
counts a tab as one level of a space-indented one). Into a tab-indented file any
step, in or out, is evidence; between two space widths the model's unit must
show at least twice as a step in and the file's own never, since a continuation
line indented by four in a two-space file (Google Java style) is also a step of four.
"""

from __future__ import annotations

from lsp_server.model.codescan import indent_of, indent_width, make_indent

_STEPS = (2, 3, 4, 8)


def unit_width(unit: str, tab_w: int) -> int:
    """Columns of one indentation level of the file."""
    return tab_w if unit == "\t" else len(unit)


def _model_unit(widths: list[int], file_unit: int, tab_file: bool) -> int:
    """The model's indentation step, in columns, from consecutive line widths."""
    ups: dict[int, int] = {}
    for a, b in zip(widths, widths[1:], strict=False):
        step = abs(b - a) if tab_file else b - a
        if step in _STEPS:
            ups[step] = ups.get(step, 0) + 1
    if not ups:
        return file_unit
    unit, count = max(ups.items(), key=lambda item: (item[1], item[0] == file_unit, item[0]))
    if unit == file_unit or tab_file:
        return unit
    return unit if count >= 2 and file_unit not in ups else file_unit


def reindent(
    lines: list[str], model_base: int, file_base: int, unit: str, tab_w: int, *, level_base: bool
) -> list[str]:
    """``lines`` (continuation lines of a completion) in the file's indentation.

    ``model_base`` is the model's indentation width of the cursor's block and
    ``file_base`` the file's, both in columns with a tab counting ``tab_w``.
    ``level_base``: the model's base is the file's own line (an answer continuing
    the prefilled cursor line, not a fenced block with its own base), so when the
    model indents a tab-indented file with spaces, the base level is kept rather
    than its width.
    """
    file_unit = unit_width(unit, tab_w)
    tab_file = unit == "\t"
    indents = [indent_of(line) for line in lines if line.strip()]
    model_unit = file_unit
    if indents and not any("\t" in ws for ws in indents):
        first = [] if level_base and tab_file else [model_base]
        model_unit = _model_unit(first + [len(ws) for ws in indents], file_unit, tab_file)
    base = model_base
    if model_unit != file_unit and level_base and tab_file:
        base = model_base // file_unit * model_unit
    out: list[str] = []
    for line in lines:
        line = line.rstrip()
        if not line:
            out.append("")
            continue
        ws = indent_of(line)
        width = indent_width(ws, tab_w)
        rel = width - base
        if model_unit == file_unit:
            new = file_base + rel
        elif rel >= 0:
            levels, rest = divmod(rel, model_unit)
            new = file_base + levels * file_unit + rest
        else:
            new = file_base - (-rel + model_unit - 1) // model_unit * file_unit
        new = max(0, new)
        foreign = (" " * tab_w in ws) if tab_file else ("\t" in ws)
        out.append(line if new == width and not foreign else make_indent(new, unit, tab_w) + line[len(ws) :])
    return out
