"""HTTP channel: native JSON API, Rasa REST-compatible webhook, web widget, health checks.

`create_app()` builds the FastAPI application (OpenAPI at /docs and /openapi.json); `serve()` runs
it with uvicorn. The parts: `http_settings` (every setting and its variable), `http_middleware`
(body guard, rate limit with `limits`, security headers, request log), `http_routes` (schemas,
error handlers, routes). Names used by other modules and the tests are re-exported here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import fcntl
import importlib
import logging
import os
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine as DbEngine
from sqlalchemy import text as sql_text
from starlette.concurrency import run_in_threadpool

from bot.channels.http_middleware import DEMO_CSP, BodyGuard, Limiter, Observe, RateLimit
from bot.channels.http_routes import (
    DOCS_CSP,
    MAX_TEXT_CHARS,
    RASA_CHANNEL,
    WEB_CHANNEL,
    WIDGET_DIR,
    ApiError,
    clean_text,
    install_error_handlers,
    install_routes,
)
from bot.channels.http_settings import HttpSettings, env_int
from bot.channels.stats_routes import router as stats_router
from bot.channels.store import ConversationStore, retention_days
from bot.dialogue import warm_up as warming
from bot.dialogue.api import Engine
from knowledge.db import make_engine, upgrade

__all__ = [
    "DEMO_CSP",
    "MAX_TEXT_CHARS",
    "RASA_CHANNEL",
    "WEB_CHANNEL",
    "ApiError",
    "HttpSettings",
    "clean_text",
    "create_app",
    "serve",
]

log = logging.getLogger("aiguillage.http")
#: seconds between two retention purges in a running server (empty conversations go after 1 h)
PURGE_EVERY = 3600.0


# ---------------------------------------------------------------------------------------- migrations
def migrate(db_engine: DbEngine) -> None:
    """`upgrade()`, serialized between workers starting together (advisory lock or lock file)."""
    if db_engine.dialect.name == "postgresql":
        with db_engine.connect() as conn:
            conn.execute(sql_text("SELECT pg_advisory_lock(7134020002)"))
            try:
                upgrade(db_engine)
            finally:
                conn.execute(sql_text("SELECT pg_advisory_unlock(7134020002)"))
                conn.commit()
        return
    database = db_engine.url.database
    if db_engine.dialect.name != "sqlite" or not database or database == ":memory:":
        upgrade(db_engine)
        return
    with open(f"{database}.migrate-lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            upgrade(db_engine)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def purge_all(store: ConversationStore) -> int:
    """Retention: conversations (returns how many went), then the console's referrals."""
    from bot.console.referrals import purge_referrals

    removed = store.purge()
    purge_referrals(store.db)
    return removed


async def purge_periodically(store: ConversationStore, every: float = PURGE_EVERY) -> None:
    """Retention purge every `every` seconds while the server runs (a failure is logged, not fatal)."""
    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(purge_all, store)
        except Exception as error:
            log.warning("retention purge failed (%s)", type(error).__name__)


# ---------------------------------------------------------------------------------------- the app
def create_app(
    engine: Engine | None = None,
    db_url: str | None = None,
    *,
    db_engine: DbEngine | None = None,
    settings: HttpSettings | None = None,
    store: ConversationStore | None = None,
    run_migrations: bool = True,
    purge_on_startup: bool = True,
    telegram: bool = True,
    warm_up: bool | None = None,
) -> FastAPI:
    """Build the application. Defaults: `build_engine()`, `knowledge.db` URL, settings from the environment.

    `warm_up` (default: when this function builds the engine) runs one throwaway turn before
    `/readyz` says ready, so that the first person is not the one waiting for lazy loading (4 s).
    """
    settings = settings or HttpSettings.from_env()
    if warm_up is None:
        warm_up = store is None and engine is None
    if store is None:
        if engine is None:
            from bot.dialogue.engine import build_engine

            engine = build_engine()
        db_engine = db_engine or make_engine(db_url)
        store = ConversationStore(db_engine, engine, redis_url=settings.redis_url)
    state: dict[str, Any] = {"ready": False}

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        if run_migrations:
            await run_in_threadpool(migrate, store.db)
        if purge_on_startup:
            try:
                removed = await run_in_threadpool(purge_all, store)
                log.info("retention purge at startup: %d conversation(s) removed", removed)
            except Exception as error:  # never block the start for a purge
                log.warning("retention purge failed (%s)", type(error).__name__)
        if warm_up:
            # OpenFisca loads in worker processes in the background: orientations say "à vérifier"
            # for the benefits it computes until it is ready (AIGUILLAGE_OPENFISCA=off to skip it)
            from knowledge.benefits.engines import start_benefits

            start_benefits()
            await run_in_threadpool(warming.warm_up, store.engine, WEB_CHANNEL)
        purger = asyncio.create_task(purge_periodically(store)) if purge_on_startup else None
        state["ready"] = True
        yield
        state["ready"] = False
        if purger is not None:
            purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purger

    app = FastAPI(
        title="Aiguillage — API de conversation",
        version="1.0",
        description=(
            "Assistant automatique d'orientation vers les aides sociales. Seul l'état de la conversation "
            f"(faits utiles, pas les messages) est conservé, {retention_days()} jours après le dernier message."
        ),
        lifespan=lifespan,
        docs_url=None,  # our own /docs: pinned Swagger UI with Subresource Integrity (http_routes)
        redoc_url=None,
    )
    app.state.store = store
    app.state.settings = settings
    limiter = Limiter(
        settings.rate_per_minute, settings.rate_burst, settings.redis_url, settings.rate_key_prefix
    )
    app.state.rate_limiter = limiter
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimit, limiter=limiter)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["Content-Type"],
        expose_headers=["Retry-After"],
        max_age=600,
    )
    # the widget and long replies over a poor connection
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    if settings.trusted_proxies:  # X-Forwarded-For only from the configured proxies
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    app.add_middleware(Observe, docs_csp=DOCS_CSP if settings.api_docs else "")
    install_error_handlers(app)
    install_routes(app, store, settings, state)
    app.include_router(stats_router)  # POST /api/v1/feedback, GET /api/v1/stats
    app.mount("/widget", StaticFiles(directory=WIDGET_DIR), name="widget")
    from bot.console.routes import install_console

    install_console(app, redis_url=settings.redis_url)  # the agents' console /pro (bot/console)
    from bot.outreach.routes import install_outreach

    install_outreach(app)  # the ambassadeurs' outreach page /ambassadeur (bot/outreach)
    if telegram:
        mount_telegram_webhook(app)
    return app


def mount_telegram_webhook(app: FastAPI) -> bool:
    """Include `bot.channels.telegram.webhook_router(store)` when $AIGUILLAGE_TELEGRAM_TOKEN is set."""
    if not os.environ.get("AIGUILLAGE_TELEGRAM_TOKEN"):
        return False
    try:
        module = importlib.import_module("bot.channels.telegram")
    except ModuleNotFoundError as error:
        if error.name != "bot.channels.telegram":
            raise
        log.warning("AIGUILLAGE_TELEGRAM_TOKEN is set but bot.channels.telegram is missing")
        return False
    factory: Callable[[ConversationStore], Any] | None = getattr(module, "webhook_router", None)
    if factory is None:
        log.warning("bot.channels.telegram has no webhook_router(store)")
        return False
    app.include_router(factory(app.state.store))
    log.info("telegram webhook mounted")
    return True


# ---------------------------------------------------------------------------------------- serving
def log_config(level: str = "info") -> dict[str, Any]:
    """uvicorn's logging config plus the `aiguillage` loggers (no access log: ours has no ids or IPs)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["aiguillage"] = {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    config["handlers"]["aiguillage"] = {
        "class": "logging.StreamHandler",
        "formatter": "aiguillage",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["aiguillage"] = {"handlers": ["aiguillage"], "level": level.upper(), "propagate": False}
    return config


def uvicorn_options(
    host: str = "127.0.0.1", port: int = 8000, workers: int | None = None, log_level: str = "info"
) -> dict[str, Any]:
    """uvicorn's arguments. X-Forwarded-For is handled by the app itself, and only from the
    proxies in $AIGUILLAGE_FORWARDED_ALLOW_IPS (none by default): uvicorn's own proxy handling,
    which trusts loopback by default, is off (a spoofed header from 127.0.0.1 is not believed)."""
    return {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers or env_int("AIGUILLAGE_WORKERS", 1),
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        "log_config": log_config(log_level),
        "log_level": log_level,
    }


def serve(
    host: str = "127.0.0.1", port: int = 8000, workers: int | None = None, log_level: str = "info"
) -> None:
    """Run the app with uvicorn (`workers` defaults to $AIGUILLAGE_WORKERS or 1)."""
    import uvicorn

    uvicorn.run("bot.channels.http:create_app", **uvicorn_options(host, port, workers, log_level))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.channels.http", description="Serve the HTTP channel")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.workers, args.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
