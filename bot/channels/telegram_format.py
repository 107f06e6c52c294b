"""Turn engine `Reply` objects into Telegram messages: splitting, keyboards, no markup.

Pure functions (no network): `render_replies()` is what the Telegram channel sends, and it is
unit-testable on its own.

Keyboards (see docs/telegram.md):
- quick replies (`Reply.buttons`) become an *inline* keyboard under the message; a tap sends a
  callback query whose data is the button payload (stateless, so it works with several bot
  processes behind a webhook). Telegram limits callback data to 64 bytes: a longer payload
  falls back to the button title, which the engine then reads like typed text;
- a reply with `custom["request_location"]` gets a *reply* keyboard (the only kind that can
  ask for the location) with "📍 Partager ma position", plus the reply's buttons if any, as
  text buttons: a tap on one of those sends its title, which the channel maps back to the
  payload (`RenderedTurn.reply_buttons`).
Texts are sent without parse_mode, so nothing in them is interpreted as markup. French phone
numbers ("03 21 44 89 89") are written in international form ("+33 3 21 44 89 89"), which Telegram
marks as a `phone_number` entity: a tap offers to call it (`tappable_phones`).
`custom["summary"]` (the printable orientation sheet) is not sent: it repeats the replies just
sent, and short messages matter more here; people can forward the messages themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.dialogue.api import Button, Reply

#: Telegram's limit for a message text (counted in UTF-16 code units).
TELEGRAM_MAX_TEXT = 4096
#: Telegram's limit for an inline button's callback data, in bytes.
CALLBACK_DATA_MAX_BYTES = 64
LOCATION_BUTTON_TEXT = "📍 Partager ma position"
LOCATION_PLACEHOLDER = "Ou écrivez le nom de votre commune"
#: Sent when a reply has buttons but no text (Telegram refuses empty messages).
EMPTY_TEXT_WITH_BUTTONS = "Choisissez une réponse :"
#: Titles up to this length are laid out two per row; longer ones get a row each.
_SHORT_TITLE = 18

TelegramMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: most emoji count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _hard_cut(text: str, limit: int) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        width = utf16_len(char)
        if size + width > limit and current:
            chunks.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        chunks.append("".join(current))
    return chunks


def _split(text: str, limit: int, separators: Sequence[str]) -> list[str]:
    if utf16_len(text) <= limit:
        return [text]
    if not separators:
        return _hard_cut(text, limit)
    separator, finer = separators[0], separators[1:]
    chunks: list[str] = []
    current: str | None = None
    for part in text.split(separator):
        if utf16_len(part) > limit:
            if current is not None:
                chunks.append(current)
                current = None
            chunks.extend(_split(part, limit, finer))
            continue
        candidate = part if current is None else current + separator + part
        if utf16_len(candidate) <= limit:
            current = candidate
        else:
            if current is not None:
                chunks.append(current)
            current = part
    if current is not None:
        chunks.append(current)
    return chunks


def split_text(text: str, limit: int = TELEGRAM_MAX_TEXT) -> list[str]:
    """Split `text` into non-empty parts of at most `limit` UTF-16 units.

    Cuts between paragraphs first, then between lines, then between words; a single word
    longer than the limit (a long URL…) is cut where it must.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    parts = (part.strip() for part in _split(text, limit, ("\n\n", "\n", " ")))
    return [part for part in parts if part]


#: a French national number, 10 digits in pairs, not inside a longer number
_FRENCH_PHONE = re.compile(r"(?<![\d+])0([1-9])((?:[ .\-]?\d{2}){4})(?!\d)")


def tappable_phones(text: str) -> str:
    """"Tél. 03 21 44 89 89" -> "Tél. +33 3 21 44 89 89" (short numbers such as 115 stay as they are)."""

    def international(match: re.Match[str]) -> str:
        pairs = re.findall(r"\d{2}", match.group(2))
        return f"+33 {match.group(1)} {' '.join(pairs)}"

    return _FRENCH_PHONE.sub(international, text)


def callback_data_for(button: Button) -> str:
    """The payload if it fits Telegram's 64 bytes, else the title (cut to fit)."""
    for candidate in (button.payload, button.title):
        if candidate and len(candidate.encode("utf-8")) <= CALLBACK_DATA_MAX_BYTES:
            return candidate
    data = button.title or button.payload
    while len(data.encode("utf-8")) > CALLBACK_DATA_MAX_BYTES:
        data = data[:-1]
    return data


def _layout(buttons: Sequence[Button]) -> list[list[Button]]:
    """Two buttons a row when all titles are short, else one a row (easier to read and tap)."""
    if all(len(button.title) <= _SHORT_TITLE for button in buttons):
        return [list(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]
    return [[button] for button in buttons]


def inline_keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(button.title, callback_data=callback_data_for(button)) for button in row]
            for row in _layout(buttons)
        ]
    )


def location_keyboard(buttons: Sequence[Button] = ()) -> ReplyKeyboardMarkup:
    rows: list[list[KeyboardButton]] = [[KeyboardButton(LOCATION_BUTTON_TEXT, request_location=True)]]
    rows += [[KeyboardButton(button.title) for button in row] for row in _layout(buttons)]
    return ReplyKeyboardMarkup(
        rows,
        resize_keyboard=True,
        one_time_keyboard=True,
        input_field_placeholder=LOCATION_PLACEHOLDER,
    )


@dataclass(frozen=True)
class OutgoingMessage:
    text: str
    reply_markup: TelegramMarkup | None = None


@dataclass
class RenderedTurn:
    messages: list[OutgoingMessage] = field(default_factory=list)
    #: title -> payload for the text buttons of the reply keyboard sent in this turn, if one is.
    reply_buttons: dict[str, str] | None = None
    #: whether a reply keyboard is left displayed after this turn.
    reply_keyboard_shown: bool = False


def render_replies(replies: Iterable[Reply], *, reply_keyboard_shown: bool = False) -> RenderedTurn:
    """The Telegram messages for one engine turn.

    Each reply's keyboard goes on its last part. `reply_keyboard_shown` says whether the
    previous turn left a reply keyboard (the location button) on screen: if this turn does not
    send a new one, it is removed with the first message that has no keyboard of its own.
    """
    rendered = RenderedTurn()
    sends_reply_keyboard = False
    for reply in replies:
        markup: TelegramMarkup | None = None
        if reply.custom.get("request_location"):
            markup = location_keyboard(reply.buttons)
            sends_reply_keyboard = True
            rendered.reply_buttons = {b.title: b.payload for b in reply.buttons}
        elif reply.buttons:
            markup = inline_keyboard(reply.buttons)
        parts = split_text(tappable_phones(reply.text))
        if not parts and markup is not None:
            parts = [EMPTY_TEXT_WITH_BUTTONS]
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            rendered.messages.append(OutgoingMessage(part, markup if last else None))
    rendered.reply_keyboard_shown = sends_reply_keyboard
    if reply_keyboard_shown and not sends_reply_keyboard:
        for index, message in enumerate(rendered.messages):
            if message.reply_markup is None:
                rendered.messages[index] = OutgoingMessage(message.text, ReplyKeyboardRemove())
                break
        else:  # every message carries an inline keyboard: remove it next turn
            rendered.reply_keyboard_shown = True
    return rendered
