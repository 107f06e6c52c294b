"""A fake Telegram Bot API server for tests: a real HTTP server on 127.0.0.1.

It implements the methods python-telegram-bot calls (getMe, getUpdates, sendMessage,
answerCallbackQuery, editMessageText, deleteWebhook, setWebhook, setMyCommands, …), serves
queued updates to long polling and records every call, so tests assert on what the bot
really sent over HTTP. Point PTB at it with `base_url=fake.base_url`.

    with FakeTelegram() as fake:
        fake.push_text(chat_id=42, text="bonjour")
        messages = fake.wait_for_messages(chat_id=42)

Also `serve_app(asgi_app)`: run any ASGI app (e.g. the FastAPI webhook) under uvicorn in a
background thread on a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

BOT_USER = {
    "id": 7000001,
    "is_bot": True,
    "first_name": "Aiguillage",
    "username": "aiguillage_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
#: getUpdates long polling waits at most this long, whatever timeout the client asks for.
MAX_POLL_WAIT = 0.25
#: Parameters the Bot API sends as JSON-serialised strings in form data.
_JSON_PARAMS = {
    "reply_markup",
    "allowed_updates",
    "commands",
    "scope",
    "reply_parameters",
    "link_preview_options",
}


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.set_inheritable(True)
    return sock


class ServerThread:
    """An ASGI app under uvicorn, in a daemon thread, on a free 127.0.0.1 port."""

    def __init__(self, app: ASGIApp, *, lifespan: Literal["auto", "on", "off"] = "auto") -> None:
        self._socket = _free_socket()
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(app, lifespan=lifespan, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"uvicorn-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._socket]))

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("le serveur de test n'a pas démarré")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        self._socket.close()


@contextlib.contextmanager
def serve_app(app: ASGIApp, *, lifespan: Literal["auto", "on", "off"] = "on") -> Iterator[ServerThread]:
    server = ServerThread(app, lifespan=lifespan).start()
    try:
        yield server
    finally:
        server.stop()


class FakeTelegram:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1000
        self._next_message_id = 1
        self.calls: list[Call] = []
        self.webhook: dict[str, Any] = {}
        self._failures: dict[str, list[dict[str, Any]]] = {}
        self._server: ServerThread | None = None
        self.app = Starlette(routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])])

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FakeTelegram:
        self._server = ServerThread(self.app, lifespan="off").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """What to give PTB as `base_url` (the token is appended to it)."""
        assert self._server is not None, "FakeTelegram not started"
        return f"{self._server.url}/bot"

    def reset(self) -> None:
        with self._lock:
            self._updates.clear()
            self.calls.clear()
            self.webhook = {}
            self._failures.clear()

    def fail_next(self, method: str, error_code: int, description: str, **parameters: Any) -> None:
        """Make the next call of `method` fail as Telegram would (e.g. 429 with retry_after)."""
        error: dict[str, Any] = {"ok": False, "error_code": error_code, "description": description}
        if parameters:
            error["parameters"] = parameters
        with self._lock:
            self._failures.setdefault(method, []).append(error)

    # -- queueing updates ------------------------------------------------------------------
    def push_update(self, update: dict[str, Any]) -> int:
        with self._lock:
            update_id = self._next_update_id
            self._next_update_id += 1
            self._updates.append({"update_id": update_id, **update})
        return update_id

    def make_message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        with self._lock:
            message_id = self._next_message_id
            self._next_message_id += 1
        user = {"id": chat_id, "is_bot": False, "first_name": "Camille", "language_code": "fr"}
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Camille"},
            "from": user,
            **content,
        }

    def push_text(self, chat_id: int, text: str) -> int:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self.push_update({"message": self.make_message(chat_id, **content)})

    def push_location(self, chat_id: int, latitude: float, longitude: float) -> int:
        location = {"latitude": latitude, "longitude": longitude}
        return self.push_update({"message": self.make_message(chat_id, location=location)})

    def push_message(self, chat_id: int, **content: Any) -> int:
        return self.push_update({"message": self.make_message(chat_id, **content)})

    def push_callback(self, chat_id: int, data: str, message: dict[str, Any] | None = None) -> int:
        message = message or self.make_message(chat_id, text="…")
        message = {**message, "from": BOT_USER}
        query = {
            "id": f"cq{self._next_update_id}",
            "from": {"id": chat_id, "is_bot": False, "first_name": "Camille"},
            "chat_instance": f"ci{chat_id}",
            "message": message,
            "data": data,
        }
        return self.push_update({"callback_query": query})

    # -- inspecting calls ------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def sent_messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Parameters of every sendMessage, in order (reply_markup decoded from JSON)."""
        return [
            call.params
            for call in self.calls_to("sendMessage")
            if chat_id is None or str(call.params.get("chat_id")) == str(chat_id)
        ]

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met in time; calls: " + ", ".join(self.methods()))
            time.sleep(0.02)

    def wait_for_messages(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        self.wait_until(lambda: len(self.sent_messages(chat_id)) >= count, timeout)
        return self.sent_messages(chat_id)

    async def await_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Like wait_until, without blocking the caller's event loop (where PTB may be running)."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met in time; calls: " + ", ".join(self.methods()))
            await asyncio.sleep(0.02)

    async def await_messages(
        self, chat_id: int, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Like wait_for_messages, without blocking the caller's event loop."""
        await self.await_until(lambda: len(self.sent_messages(chat_id)) >= count, timeout)
        return self.sent_messages(chat_id)

    def methods(self) -> list[str]:
        with self._lock:
            return [call.method for call in self.calls]

    # -- the Bot API -----------------------------------------------------------------------
    async def _params(self, request: Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query_params)
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("application/json"):
            body = await request.body()
            if body:
                params.update(json.loads(body))
        elif content_type.startswith("application/x-www-form-urlencoded"):
            # what PTB sends when there is no file (parsed here: no python-multipart needed)
            params.update(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        for key in _JSON_PARAMS & params.keys():
            if isinstance(params[key], str):
                with contextlib.suppress(ValueError):
                    params[key] = json.loads(params[key])
        return params

    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        params = await self._params(request)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return JSONResponse(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
                status_code=404,
            )
        with self._lock:
            if method != "getUpdates":
                self.calls.append(Call(method, params))
            failures = self._failures.get(method)
            failure = failures.pop(0) if failures else None
        if failure is not None:
            return JSONResponse(failure, status_code=failure["error_code"])
        result = await handler(params)
        return JSONResponse({"ok": True, "result": result})

    async def _api_getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        wait = min(float(params.get("timeout") or 0), MAX_POLL_WAIT)
        deadline = time.monotonic() + wait
        while True:
            with self._lock:
                # As Telegram does: asking for an offset confirms the updates before it.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = self._updates[:limit]
            if ready or time.monotonic() >= deadline:
                return ready
            await asyncio.sleep(0.02)

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        with self._lock:
            message_id = self._next_message_id
            self._next_message_id += 1
        chat_id = int(params["chat_id"])
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
            "text": params.get("text", ""),
        }
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return message

    async def _api_editMessageText(self, params: dict[str, Any]) -> Any:
        return {
            "message_id": int(params.get("message_id") or 0),
            "date": int(time.time()),
            "chat": {"id": int(params.get("chat_id") or 0), "type": "private"},
            "from": BOT_USER,
            "text": params.get("text", ""),
        }

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_sendChatAction(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_setMyCommands(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_deleteMyCommands(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self.webhook = dict(params)
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self.webhook = {}
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> Any:
        with self._lock:
            webhook = dict(self.webhook)
        info: dict[str, Any] = {
            "url": webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
        if webhook.get("allowed_updates"):
            info["allowed_updates"] = webhook["allowed_updates"]
        return info

    async def _api_close(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_logOut(self, params: dict[str, Any]) -> Any:
        return True
