"""Alembic environment: the engine comes from ``Catalog.migrate`` (``config.attributes``)."""

from alembic import context
from sqlalchemy import Engine, create_engine

from stoa.catalog.models import Base

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
