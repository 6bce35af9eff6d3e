"""The `chatlens` command line: `main` holds the root commands (import, settings, docs, demo...),
`report`, `server` and `topics` register their command groups on it, `common` is what they share."""

from chatlens.cli.main import DEMO_LOGIN, app, main

__all__ = ["DEMO_LOGIN", "app", "main"]
