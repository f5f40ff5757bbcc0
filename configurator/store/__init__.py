"""Persistence: SQLAlchemy models (models.py), the database adapter and the session per request
(db.py), Alembic migrations (migrate.py, migrations/), configurations and content versions
(configurations.py), and the `db` / `serve` CLI commands (commands.py)."""
