"""App state: workspaces, users and seats, API keys and sessions (SQLAlchemy 2 + Alembic)."""
