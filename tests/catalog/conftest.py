"""The catalog fixtures (a catalog on SQLite and on PostgreSQL) live in tests/conftest.py."""
