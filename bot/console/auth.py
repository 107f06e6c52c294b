"""Sessions, CSRF tokens and the login rate limit of the console.

The session is Starlette's SessionMiddleware (a cookie signed with itsdangerous, path /pro,
SameSite=Strict); it holds the agent's number, the login time and the CSRF token, nothing
about the people at the desk. A session ends `session_seconds` after the login, whatever the
cookie says. Every POST carries the CSRF token (form field `csrf` or header X-CSRF-Token).
"""

from __future__ import annotations

import secrets
import time

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from bot.console.accounts import Agent, get_agent
from bot.console.settings import ConsoleSettings

CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


def settings_of(request: Request) -> ConsoleSettings:
    return request.app.state.console_settings  # type: ignore[no-any-return]


def csrf_token(request: Request) -> str:
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return str(token)


async def csrf_ok(request: Request) -> bool:
    expected = request.session.get(CSRF_FIELD)
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    return bool(expected and given) and secrets.compare_digest(str(expected), given or "")


def log_in(request: Request, agent: Agent) -> None:
    request.session.clear()
    request.session.update(agent=agent.id, issued=int(time.time()), csrf=secrets.token_urlsafe(32))


def log_out(request: Request) -> None:
    request.session.clear()


async def current_agent(request: Request) -> Agent | None:
    """The logged-in agent (account still active, session younger than the limit), else None."""
    agent_id, issued = request.session.get("agent"), request.session.get("issued")
    if not isinstance(agent_id, int) or not isinstance(issued, int):
        return None
    if time.time() - issued > settings_of(request).session_seconds:
        request.session.clear()
        return None
    agent = await run_in_threadpool(get_agent, request.app.state.store.db, agent_id)
    if agent is None:
        request.session.clear()
    return agent


async def login_wait(request: Request) -> float:
    """Count one login attempt from this address: 0 if allowed, else seconds to wait."""
    client = request.client.host if request.client else "unknown"
    return await request.app.state.console_login_limiter.wait(f"login:{client}")
