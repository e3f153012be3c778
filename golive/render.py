"""The one place that writes results to the terminal (Rich tables, progress, lines).

Names and keys are never cut: piped to ``grep`` or a file, a Rich table would be
laid out for a guessed 80 columns and end names with "…"; off a terminal, tables are
as wide as their content and lines are not wrapped. Cell text is shown as given,
never read as Rich markup (a name with ``[brackets]`` stays whole).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

__all__ = ["console", "err_console", "table"]

_WIDEST = 10_000  # columns a table may take off a terminal
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], keys: int = 1) -> None:
    """Print a table of results.

    The first ``keys`` columns hold names (scenarios, SLOs, sweep points, object types):
    they are never wrapped or truncated; other columns wrap on a narrow terminal. A cell
    may be a ``rich.text.Text`` to carry a style; anything else is shown as plain text.
    """
    cells = [[v if isinstance(v, Text) else Text(str(v)) for v in row] for row in rows]
    t = Table(title=Text(title), title_justify="left")
    for i, col in enumerate(columns):
        if i < keys:
            widest = max([len(col), *(len(row[i].plain) for row in cells if i < len(row))])
            t.add_column(Text(col), no_wrap=True, min_width=widest)
        else:
            t.add_column(Text(col), overflow="fold")
    for row in cells:
        t.add_row(*row)
    out = console
    if not console.is_terminal:  # a pipe or a file: as wide as the content
        unbounded = console.options.update_width(_WIDEST)
        width = max(console.width, Measurement.get(console, unbounded, t).maximum)
        out = Console(file=console.file, width=width, no_color=console.no_color)
    out.print(t)
