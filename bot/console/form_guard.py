"""Size limit of the console's request bodies (forms under /pro): 413 above it.

The API's body guard (http_middleware.BodyGuard) only covers /api/ and /webhooks/ and wants
JSON; the console posts small HTML forms, which this guard bounds. Browsers always declare the
length of a form; the HTTP server (h11) holds a body to its declared length, so the declared
length is the one to check (a POST without it gets 411).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from bot.channels.http_middleware import send_json

#: the largest console form (a situation with every field, the referral texts) is a few kilobytes
MAX_FORM_BYTES = 32 * 1024


class FormSizeGuard:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_FORM_BYTES) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or scope["method"] != "POST" or not (path == "/pro" or path.startswith("/pro/")):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if not declared.isdigit():
            await send_json(send, 411, {"detail": "Longueur du formulaire requise (Content-Length)."})
            return
        if int(declared) > self.max_bytes:
            await send_json(send, 413, {"detail": f"Formulaire trop long : {self.max_bytes} octets au plus."})
            return
        await self.app(scope, receive, send)
