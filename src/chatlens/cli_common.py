"""What every `chatlens` command shares: the consoles, the --db option, error exits."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="The store file (default $CHATLENS_DB or ./chatlens.duckdb).",
        show_default=False,
    ),
]


def fail(message: str) -> typer.Exit:
    """Print an error (escaped: messages quote user input) and give exit status 2."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(2)
