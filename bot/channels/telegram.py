"""Telegram channel: python-telegram-bot 22 handlers, long polling for local use, webhook for production.

- `build_application(token, store)`: the PTB Application with the handlers below.
- `run_polling()`: local use, reads $AIGUILLAGE_TELEGRAM_TOKEN (`python -m bot.channels.telegram`).
- `webhook_router(store)`: FastAPI router with `POST /telegram/webhook`, checking Telegram's
  `X-Telegram-Bot-Api-Secret-Token` header against $AIGUILLAGE_TELEGRAM_SECRET.

Every message goes through the conversation store (`store.process(channel, external_id,
incoming)`), keyed by the Telegram chat id, which the store pseudonymises. Only private chats are
served. Nothing from a message (text, location, contact) is logged. See docs/telegram.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hmac
import inspect
import json
import logging
import os
import re
import sys
import traceback
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any, Protocol, TypeAlias, TypeVar, cast

from fastapi import APIRouter, FastAPI, Request, Response
from telegram import (
    Bot,
    BotCommand,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.channels.telegram_format import TELEGRAM_MAX_TEXT, render_replies, utf16_len
from bot.channels.telegram_guard import MAX_UPDATE_BYTES, ChatLimiter, SeenUpdates, chat_id_of
from bot.dialogue.api import Incoming, Reply
from bot.dialogue.warm_up import warm_up

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
TOKEN_ENV = "AIGUILLAGE_TELEGRAM_TOKEN"
SECRET_ENV = "AIGUILLAGE_TELEGRAM_SECRET"
#: optional: another Bot API server (a self-hosted telegram-bot-api, or a test fake), e.g.
#: "http://127.0.0.1:8081/bot"; the token is appended to it.
API_URL_ENV = "AIGUILLAGE_TELEGRAM_API_URL"
RETENTION_ENV = "AIGUILLAGE_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 30
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/telegram/webhook"
#: the only updates the bot asks Telegram for
ALLOWED_UPDATES = ["message", "callback_query"]
#: Telegram's rule for setWebhook's secret_token
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

# chat_data keys (in memory only, never persisted: a restart simply forgets them)
_KEYBOARD_SHOWN = "reply_keyboard_shown"
_KEYBOARD_BUTTONS = "reply_keyboard_buttons"

COMMANDS = [
    BotCommand("start", "Qui je suis, ce que je garde"),
    BotCommand("aide", "Ce que je peux faire, exemples"),
    BotCommand("oubli", "Effacer notre conversation"),
]

T = TypeVar("T")
#: the Application as built here (default context types)
AnyApplication: TypeAlias = Application[Any, Any, Any, Any, Any, Any]


class ConversationStoreLike(Protocol):
    """What the channel needs from `bot.channels.store.ConversationStore` (sync or async)."""

    def process(
        self, channel: str, external_id: str, incoming: Incoming
    ) -> list[Reply] | Awaitable[list[Reply]]: ...

    def erase(self, channel: str, external_id: str) -> bool | Awaitable[bool]: ...


async def _call(func: Callable[..., T | Awaitable[T]], *args: Any) -> T:
    """Await an async store method; run a sync one in a thread so the event loop stays free."""
    if inspect.iscoroutinefunction(func):
        return cast(T, await func(*args))
    result = await asyncio.to_thread(func, *args)
    if inspect.isawaitable(result):
        return cast(T, await result)
    return result


def retention_days() -> int:
    """Days a conversation is kept after its last message (the store's $AIGUILLAGE_RETENTION_DAYS)."""
    from bot.channels.store import retention_days as store_retention_days

    try:
        return store_retention_days()
    except ValueError:
        return DEFAULT_RETENTION_DAYS


# -- texts ------------------------------------------------------------------------------------
def _erased_after(days: int) -> str:
    if days <= 0:
        return "C'est effacé peu après votre dernier message."
    return f"C'est effacé {days} jour{'s' if days > 1 else ''} après votre dernier message."


def start_replies() -> list[Reply]:
    days = retention_days()
    return [
        Reply(
            "Bonjour, je suis Aiguillage, un assistant automatique : vous ne parlez pas à une personne.\n"
            "Je vous aide à trouver les aides auxquelles vous pourriez avoir droit, "
            "et un lieu près de chez vous pour vous accompagner."
        ),
        Reply(
            "Je garde seulement ce qui est utile à votre recherche (par exemple votre commune), "
            "jamais votre nom ni votre numéro.\n"
            f"{_erased_after(days)}\n"
            "Pour tout effacer tout de suite : envoyez /oubli."
        ),
        Reply(
            "Dites-moi en quelques mots ce que vous cherchez.\n"
            "Par exemple : « une crèche pour mon enfant », « payer la cantine », « j'ai des dettes »."
        ),
    ]


def help_replies() -> list[Reply]:
    return [
        Reply(
            "Je vous pose quelques questions, puis je vous dis quelles aides pourraient vous concerner, "
            "quoi faire, et qui contacter près de chez vous.\n"
            "Garde d'enfants, cantine, vacances, budget et dettes, logement, énergie, alimentation, "
            "santé, emploi des jeunes…"
        ),
        Reply(
            "Écrivez simplement, par exemple :\n"
            "« je cherche une crèche pour ma fille »\n"
            "« j'ai 19 ans et je veux partir en vacances »"
        ),
        Reply(
            "/start : qui je suis, ce que je garde\n"
            "/oubli : effacer notre conversation\n"
            "En danger ? Appelez le 112 (ou le 114 par SMS)."
        ),
    ]


ERASED_TEXT = "C'est fait : notre conversation est effacée de nos serveurs."
NOTHING_TO_ERASE_TEXT = "Je n'avais rien gardé de notre conversation : il n'y a rien à effacer."
TELEGRAM_HISTORY_TEXT = (
    "Les messages restent affichés dans Telegram : vous pouvez supprimer la discussion dans l'application."
)
VOICE_TEXT = (
    "Je ne peux pas écouter les messages vocaux.\nÉcrivez-moi quelques mots, ou appuyez sur un bouton."
)
CONTACT_TEXT = (
    "Je n'ai pas besoin de votre numéro, et je ne le garde pas.\nÉcrivez-moi plutôt ce que vous cherchez."
)
OTHER_TEXT = "Je ne lis que les messages écrits et la position partagée.\nÉcrivez-moi quelques mots."
ERROR_TEXT = "Désolé, un problème technique m'empêche de répondre.\nRéessayez dans un moment."


def _retry_after(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that retry_after becomes a timedelta
        warnings.simplefilter("ignore")
        delay = error.retry_after
    return delay.total_seconds() if isinstance(delay, dt.timedelta) else float(delay)


# -- handlers ---------------------------------------------------------------------------------
class TelegramChannel:
    """The handlers, bound to one conversation store."""

    def __init__(self, store: ConversationStoreLike, *, defer_flood: bool = False) -> None:
        """`defer_flood` (webhook): a flood-control wait is not slept inside the request; the rest
        of the answer is sent by a background task after the wait (the turn is already saved)."""
        self.store = store
        self.defer_flood = defer_flood
        self._later: set[asyncio.Task[None]] = set()

    async def send(
        self, chat_id: int, replies: Sequence[Reply], context: ContextTypes.DEFAULT_TYPE
    ) -> list[Message]:
        chat_data = context.chat_data if context.chat_data is not None else {}
        rendered = render_replies(replies, reply_keyboard_shown=bool(chat_data.get(_KEYBOARD_SHOWN)))
        sent = []
        for index, message in enumerate(rendered.messages):
            deferred = False
            for attempt in range(2):
                try:
                    sent.append(
                        await context.bot.send_message(
                            chat_id,
                            message.text,
                            reply_markup=message.reply_markup,
                            link_preview_options=LinkPreviewOptions(is_disabled=True),
                        )
                    )
                    break
                except RetryAfter as error:  # flood control, e.g. a long answer in many parts
                    if attempt:
                        raise
                    if self.defer_flood:  # webhook: answer Telegram now, send the rest later
                        rest = rendered.messages[index:]
                        task = asyncio.create_task(
                            self._send_later(_retry_after(error), chat_id, rest, context)
                        )
                        self._later.add(task)
                        task.add_done_callback(self._later.discard)
                        deferred = True
                        break
                    await asyncio.sleep(_retry_after(error))
            if deferred:
                break
        chat_data[_KEYBOARD_SHOWN] = rendered.reply_keyboard_shown
        if rendered.reply_buttons is not None:
            chat_data[_KEYBOARD_BUTTONS] = rendered.reply_buttons
        elif not rendered.reply_keyboard_shown:
            chat_data.pop(_KEYBOARD_BUTTONS, None)
        return sent

    async def _send_later(
        self, delay: float, chat_id: int, messages: Sequence[Any], context: ContextTypes.DEFAULT_TYPE
    ) -> None:
        await asyncio.sleep(delay)
        for message in messages:
            try:
                await context.bot.send_message(
                    chat_id,
                    message.text,
                    reply_markup=message.reply_markup,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
            except TelegramError as error:
                logger.warning("Telegram: envoi différé impossible (%s)", type(error).__name__)
                return

    async def converse(self, update: Update, context: ContextTypes.DEFAULT_TYPE, incoming: Incoming) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        replies = await _call(self.store.process, CHANNEL, str(chat.id), incoming)
        await self.send(chat.id, replies, context)

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat is not None:
            await self.send(update.effective_chat.id, start_replies(), context)

    async def on_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.effective_chat is not None:
            await self.send(update.effective_chat.id, help_replies(), context)

    async def on_erase(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        erased = await _call(self.store.erase, CHANNEL, str(chat.id))
        if context.chat_data is not None:
            context.chat_data.clear()
        await context.bot.send_message(
            chat.id,
            (ERASED_TEXT if erased else NOTHING_TO_ERASE_TEXT) + "\n" + TELEGRAM_HISTORY_TEXT,
            reply_markup=ReplyKeyboardRemove(),
        )

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.text is None:
            return
        text = message.text
        # a tap on a text button of the location keyboard sends its title: give the engine the payload
        buttons = (context.chat_data or {}).get(_KEYBOARD_BUTTONS) or {}
        text = buttons.get(text, text)
        await self.converse(update, context, Incoming(text=text, channel=CHANNEL))

    async def on_location(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.location is None:
            return
        location = message.location
        incoming = Incoming(latitude=location.latitude, longitude=location.longitude, channel=CHANNEL)
        await self.converse(update, context, incoming)

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        with suppress(BadRequest):  # "query is too old": still take the answer into account
            await query.answer()
        chat = update.effective_chat
        if query.data is None or chat is None or chat.type != chat.PRIVATE:
            return
        message = query.message
        if isinstance(message, Message):
            await self._mark_choice(message, query.data)
        await self.converse(update, context, Incoming(text=query.data, channel=CHANNEL))

    async def _mark_choice(self, message: Message, data: str) -> None:
        """Show the chosen answer under the question and drop its buttons (no stale taps)."""
        markup = message.reply_markup
        titles = [
            button.text
            for row in (markup.inline_keyboard if markup else ())
            for button in row
            if button.callback_data == data
        ]
        text = message.text or ""
        marked = f"{text}\n\n✅ {titles[0]}" if titles else text
        with suppress(BadRequest):  # message too old, unchanged, or not text: keep it as it is
            if text and utf16_len(marked) <= TELEGRAM_MAX_TEXT:
                await message.edit_text(marked, reply_markup=None)
            else:
                await message.edit_reply_markup(reply_markup=None)

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None:
            return
        if message.voice or message.audio or message.video_note:
            text = VOICE_TEXT
        elif message.contact:
            text = CONTACT_TEXT
        else:
            text = OTHER_TEXT
        await self.send(message.chat_id, [Reply(text)], context)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        update_id = update.update_id if isinstance(update, Update) else None
        if isinstance(error, Forbidden):  # the person blocked the bot
            logger.info("Telegram: envoi refusé (bot bloqué ?) pour la mise à jour %s", update_id)
            return
        # where, not what: the frames show code; the exception's text may quote the message
        frames = "".join(
            f"  {frame.filename}:{frame.lineno} in {frame.name}\n"
            for frame in traceback.extract_tb(error.__traceback__ if error is not None else None)
        )
        logger.error("Telegram: erreur %s sur la mise à jour %s\n%s", type(error).__name__, update_id, frames)
        if isinstance(update, Update) and update.effective_chat is not None:
            with suppress(TelegramError):
                await context.bot.send_message(update.effective_chat.id, ERROR_TEXT)


async def set_commands(bot: Bot) -> None:
    """Publish the command menu (/start, /aide, /oubli); a failure is logged, not fatal."""
    try:
        await bot.set_my_commands(COMMANDS)
    except TelegramError as error:
        logger.warning("Telegram: setMyCommands a échoué (%s)", type(error).__name__)


async def _post_init(application: AnyApplication) -> None:
    await set_commands(application.bot)


def _quiet_http_logs() -> None:
    """httpx logs every request URL at INFO, and Bot API URLs contain the bot token."""
    for name in ("httpx", "httpcore"):
        http_logger = logging.getLogger(name)
        if http_logger.level == logging.NOTSET:
            http_logger.setLevel(logging.WARNING)


def build_application(
    token: str, store: ConversationStoreLike, base_url: str | None = None, *, defer_flood: bool = False
) -> AnyApplication:
    """The PTB Application with the Aiguillage handlers (not started)."""
    _quiet_http_logs()
    builder = Application.builder().token(token).post_init(_post_init)  # post_init: run_polling only
    if base_url:
        builder = builder.base_url(base_url)
    application = builder.build()
    channel = TelegramChannel(store, defer_flood=defer_flood)
    # private chats only (a group would share one conversation), new messages only (no edits)
    private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("start", channel.on_start, filters=private))
    application.add_handler(CommandHandler(["aide", "help"], channel.on_help, filters=private))
    application.add_handler(CommandHandler("oubli", channel.on_erase, filters=private))
    application.add_handler(MessageHandler(private & filters.LOCATION, channel.on_location))
    application.add_handler(MessageHandler(private & filters.TEXT, channel.on_text))
    application.add_handler(CallbackQueryHandler(channel.on_callback))
    application.add_handler(MessageHandler(private & ~filters.StatusUpdate.ALL, channel.on_other))
    application.add_error_handler(channel.on_error)
    return application


# -- local use: long polling ------------------------------------------------------------------
def _token_from_env() -> str:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise SystemExit(
            f"La variable d'environnement {TOKEN_ENV} n'est pas définie.\n"
            "Créez un bot avec @BotFather dans Telegram, puis :\n"
            f"  export {TOKEN_ENV}='123456:ABC...'"
        )
    return token


def default_store() -> ConversationStoreLike:
    """The conversation store on $AIGUILLAGE_DATABASE_URL (schema brought up to date)."""
    from bot.channels.store import ConversationStore
    from bot.dialogue.engine import build_engine
    from knowledge.db import make_engine, upgrade

    db_engine = make_engine()
    upgrade(db_engine)
    return ConversationStore(db_engine, build_engine())  # reads $AIGUILLAGE_REDIS_URL itself


def run_polling(store: ConversationStoreLike | None = None) -> None:
    """Run the bot with long polling until Ctrl-C (local use; removes any webhook first)."""
    token = _token_from_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    store = store or default_store()
    application = build_application(token, store, base_url=os.environ.get(API_URL_ENV) or None)
    from knowledge.benefits.engines import start_benefits

    start_benefits()  # OpenFisca warms up in the background (worker processes)
    engine = getattr(store, "engine", None)  # the store's engine, when it has one
    if engine is not None:
        warm_up(engine, channel="telegram")
    logger.info("Telegram: bot démarré en long polling (Ctrl-C pour arrêter)")
    application.run_polling(allowed_updates=ALLOWED_UPDATES)


# -- production: webhook ----------------------------------------------------------------------
class _Runner:
    """Starts the Application once (in the lifespan, or at the first update if that failed)."""

    def __init__(self, application: AnyApplication) -> None:
        self.application = application
        self._lock = asyncio.Lock()
        self._started = False

    async def start(self) -> None:
        async with self._lock:
            if self._started:
                return
            await self.application.initialize()
            await self.application.start()
            self._started = True
        await set_commands(self.application.bot)

    async def stop(self) -> None:
        async with self._lock:
            if not self._started:
                return
            self._started = False
            await self.application.stop()
            await self.application.shutdown()


def webhook_router(
    store: ConversationStoreLike,
    *,
    token: str | None = None,
    secret: str | None = None,
    base_url: str | None = None,
    path: str = WEBHOOK_PATH,
) -> APIRouter:
    """`POST /telegram/webhook` for Telegram's webhook, with the Application run in the app lifespan.

    token, secret and base_url default to $AIGUILLAGE_TELEGRAM_TOKEN, $AIGUILLAGE_TELEGRAM_SECRET
    and $AIGUILLAGE_TELEGRAM_API_URL. Without a secret every request is refused (403).
    """
    token = token or os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise RuntimeError(f"{TOKEN_ENV} n'est pas définie : impossible de créer le webhook Telegram")
    secret = secret if secret is not None else os.environ.get(SECRET_ENV, "")
    if not secret:
        logger.error("Telegram: %s n'est pas définie, le webhook refusera toutes les requêtes", SECRET_ENV)
    elif not _SECRET_RE.match(secret):
        logger.warning("Telegram: %s doit faire 1 à 256 caractères A-Z a-z 0-9 _ -", SECRET_ENV)
    application = build_application(
        token, store, base_url=base_url or os.environ.get(API_URL_ENV) or None, defer_flood=True
    )
    runner = _Runner(application)
    seen = SeenUpdates(getattr(store, "redis", None), f"aiguillage:telegram:{token.split(':')[0]}:update:")
    per_chat = ChatLimiter()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            await runner.start()
        except TelegramError as error:  # the rest of the server must still start
            logger.warning("Telegram: démarrage différé à la première mise à jour (%s)", type(error).__name__)
        try:
            yield
        finally:
            await runner.stop()

    router = APIRouter(lifespan=lifespan)

    @router.post(path, include_in_schema=False)
    async def telegram_webhook(request: Request) -> Response:
        received = request.headers.get(SECRET_HEADER)
        if received is None:
            return Response(status_code=401)
        if not secret or not hmac.compare_digest(received.encode(), secret.encode()):
            return Response(status_code=403)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_UPDATE_BYTES:
            return Response(status_code=413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_UPDATE_BYTES:
                return Response(status_code=413)
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return Response(status_code=400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return Response(status_code=400)
        # from here on, 200 whatever happens: Telegram re-sends an update answered otherwise
        if not seen.first_time(data["update_id"]):
            return Response(status_code=200)
        chat = chat_id_of(data)
        if chat is not None and not per_chat.allow(chat):
            logger.warning(
                "Telegram: trop de mises à jour pour une conversation, %s ignorée", data["update_id"]
            )
            return Response(status_code=200)
        await runner.start()
        try:
            update = Update.de_json(data, application.bot)
        except Exception as error:  # a malformed update: acknowledged, dropped, one line
            logger.warning("Telegram: mise à jour %s illisible (%s)", data["update_id"], type(error).__name__)
            return Response(status_code=200)
        # handler errors go to the error handler; answering 200 keeps Telegram from re-sending
        await application.process_update(update)
        return Response(status_code=200)

    return router


async def configure_webhook(url: str, *, token: str, secret: str, base_url: str | None = None) -> None:
    """setWebhook with the secret and the allowed updates, then publish the commands."""
    bot = Bot(token, base_url=base_url or "https://api.telegram.org/bot")
    async with bot:
        await bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        await set_commands(bot)


async def remove_webhook(*, token: str, base_url: str | None = None) -> None:
    bot = Bot(token, base_url=base_url or "https://api.telegram.org/bot")
    async with bot:
        await bot.delete_webhook()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bot.channels.telegram", description="Canal Telegram d'Aiguillage"
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("polling", help="lancer le bot en long polling (par défaut)")
    set_parser = commands.add_parser("set-webhook", help="déclarer l'URL du webhook à Telegram")
    set_parser.add_argument("url", help="URL publique HTTPS, par ex. https://exemple.fr/telegram/webhook")
    commands.add_parser("delete-webhook", help="supprimer le webhook (pour revenir au polling)")
    args = parser.parse_args(argv)
    base_url = os.environ.get(API_URL_ENV) or None
    if args.command == "set-webhook":
        secret = os.environ.get(SECRET_ENV, "")
        if not _SECRET_RE.match(secret):
            raise SystemExit(f"{SECRET_ENV} doit être définie (1 à 256 caractères A-Z a-z 0-9 _ -).")
        asyncio.run(configure_webhook(args.url, token=_token_from_env(), secret=secret, base_url=base_url))
        print(f"Webhook déclaré : {args.url}")
    elif args.command == "delete-webhook":
        asyncio.run(remove_webhook(token=_token_from_env(), base_url=base_url))
        print("Webhook supprimé.")
    else:
        run_polling()


if __name__ == "__main__":
    main(sys.argv[1:])
