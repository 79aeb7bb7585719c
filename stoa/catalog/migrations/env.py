"""Alembic environment: the engine comes from ``Catalog.migrate`` (``config.attributes``)."""

from alembic import context
from sqlalchemy import Engine, create_engine

from stoa.catalog.models import Base

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")

with engine.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch migrations rebuild a table on SQLite (copy, drop, rename); with foreign keys on,
        # dropping `spaces` would cascade into every row that refers to it. The pragma has no
        # effect inside a transaction, so it is set before one, and set back after.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
    try:
        with connection.begin():
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=sqlite,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
