"""The QR code that opens the chat widget in full page, with the person's answers only if they agree.

The answers travel in the address's fragment (`#texte=`), which browsers never send to a server:
the widget puts them in its message box, and the person reads them and sends them (or not).
"""

from __future__ import annotations

import io
from urllib.parse import quote

import segno

#: the widget's message box takes 600 characters
MAX_TEXT_CHARS = 600


def widget_address(base_url: str, text: str = "") -> str:
    address = base_url.rstrip("/") + "/?mode=page"
    text = text.strip()[:MAX_TEXT_CHARS]
    return f"{address}#texte={quote(text)}" if text else address


def qr_svg(address: str) -> str:
    """An SVG QR code (segno, error correction M), scalable, with its quiet zone."""
    buffer = io.BytesIO()
    code = segno.make(address, error="m")
    code.save(buffer, kind="svg", scale=4, border=4, title="QR code : ouvrir l'assistant Aiguillage")
    return buffer.getvalue().decode("utf-8")
