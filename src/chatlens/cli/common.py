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


AppDbOption = Annotated[
    str | None,
    typer.Option(
        "--app-db",
        help="App state URL (users, keys): default $CHATLENS_APP_DB or <store>.app.sqlite "
        "beside the store; postgresql+psycopg://... for Postgres.",
        show_default=False,
    ),
]
