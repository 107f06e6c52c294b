"""Alembic environment: run with a connection passed in `config.attributes` or from the URL."""

from __future__ import annotations

import contextlib

from alembic import context

import knowledge.models  # noqa: F401  (registers tables)
from knowledge.db import Base, make_engine

with contextlib.suppress(ImportError):  # conversation store tables, if the channels package defines them
    import bot.channels.stats_models  # noqa: F401
    import bot.channels.store_models  # noqa: F401
    import bot.console.models  # noqa: F401

target_metadata = Base.metadata
config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = make_engine(config.get_main_option("sqlalchemy.url") or None)
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
            context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
