"""The card image a shared link shows: 1200x630 PNG, drawn with Pillow, cached by content."""

from __future__ import annotations

import hashlib
import io
from collections import OrderedDict
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from live.preview import CARD_HEIGHT, CARD_WIDTH, Preview

_FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
_BACKGROUND = (22, 24, 33)
_ACCENT = (255, 92, 92)
_TEXT = (245, 245, 247)
_MUTED = (170, 174, 190)
_MARGIN = 72


@cache
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = _FONT_FILES[0 if bold else 1]
    if Path(path).exists():
        return ImageFont.truetype(path, size)
    # Pillow's own font: no system fonts needed.
    return ImageFont.load_default(size)


def render(preview: Preview) -> bytes:
    """The card as PNG bytes. Text is drawn as text: nothing in it is interpreted."""
    image = Image.new("RGB", (CARD_WIDTH, CARD_HEIGHT), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 16, CARD_HEIGHT), fill=_ACCENT)
    draw.text((_MARGIN, 56), "STOA", font=_font(34, bold=True), fill=_ACCENT)
    title_font = _font(68, bold=True)
    y = 130
    for line in _wrap(draw, preview.title, title_font, CARD_WIDTH - 2 * _MARGIN, 3):
        draw.text((_MARGIN, y), line, font=title_font, fill=_TEXT)
        y += 84
    body = _font(36)
    for line in _wrap(draw, preview.people, body, CARD_WIDTH - 2 * _MARGIN, 2):
        draw.text((_MARGIN, y + 16), line, font=body, fill=_MUTED)
        y += 48
    status_font = _font(40, bold=True)
    draw.text((_MARGIN, CARD_HEIGHT - 110), preview.status, font=status_font, fill=_TEXT)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _wrap(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    width: int,
    max_lines: int,
) -> list[str]:
    """Greedy word wrap to ``width`` pixels, at most ``max_lines``, with an ellipsis."""
    words = " ".join(text.split()).split(" ")
    lines: list[str] = []
    current = ""
    for word in words:
        candidate = f"{current} {word}".strip()
        if draw.textlength(candidate, font=font) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while draw.textlength(current, font=font) > width and len(current) > 1:
            # One word wider than the card: cut it.
            cut = len(current) - 1
            while cut > 1 and draw.textlength(current[:cut], font=font) > width:
                cut -= 1
            lines.append(current[:cut])
            current = current[cut:]
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and draw.textlength(last + "…", font=font) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines


class CardCache:
    """The last rendered cards, keyed by what they show (a new listener count, a new card)."""

    def __init__(self, size: int = 256) -> None:
        self._cards: OrderedDict[str, bytes] = OrderedDict()
        self._size = size

    @staticmethod
    def key(preview: Preview) -> str:
        parts = "\x1f".join((preview.title, preview.people, preview.status))
        return hashlib.sha256(parts.encode()).hexdigest()[:32]

    def get(self, preview: Preview) -> tuple[str, bytes]:
        key = self.key(preview)
        png = self._cards.get(key)
        if png is None:
            png = render(preview)
            self._cards[key] = png
            if len(self._cards) > self._size:
                self._cards.popitem(last=False)
        else:
            self._cards.move_to_end(key)
        return key, png
