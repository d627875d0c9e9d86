"""Alembic environment shared by every service, with the chassis's own branch of revisions."""
