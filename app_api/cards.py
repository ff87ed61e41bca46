"""The dashboard parking card: the 050 number in large digits, Korean instructions, a QR.

Drawn with Pillow in Debian's Nanum fonts (``fonts-nanum``), at 300 dpi on an A6
landscape card; the PDF is the same image. The QR code carries the public page URL
with the card's unguessable token, never the number itself.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

from numbering.errors import DomainError
from numbering.types import SafeNumber

FONT_DIRS = (Path("/usr/share/fonts/truetype/nanum"), Path("/usr/share/fonts/nanum"))
SIZE = (1748, 1240)  # A6 landscape at 300 dpi
DPI = 300
INK = (20, 24, 38)
BAND = (255, 196, 0)
TITLE = "주차 연락처 · 안심번호"
LINES = (
    "차를 빼야 하면 이 번호로 전화해 주세요.",
    "운전자의 실제 번호는 공개되지 않습니다.",
    "QR을 찍으면 전화하거나",
    "이동 요청 문자를 보낼 수 있어요.",
)


class CardFontMissing(DomainError):
    status = 503
    error_id = "card-font-missing"


@cache
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    for directory in FONT_DIRS:
        path = directory / name
        if path.exists():
            return ImageFont.truetype(str(path), size)
    raise CardFontMissing(f"font {name} is missing: install the Debian package fonts-nanum")


def public_url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}/p/{token}"


def _qr(url: str, size: int) -> Image.Image:
    qr = segno.make(url, error="m")
    matrix = [list(row) for row in qr.matrix]
    n = len(matrix) + 8  # 4-module quiet zone on each side
    module = size // n
    img = Image.new("RGB", (module * n, module * n), "white")
    draw = ImageDraw.Draw(img)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                x0, y0 = (x + 4) * module, (y + 4) * module
                draw.rectangle((x0, y0, x0 + module - 1, y0 + module - 1), fill="black")
    return img


def _card(number: SafeNumber, url: str) -> Image.Image:
    bold, regular = "NanumGothicBold.ttf", "NanumGothic.ttf"
    w, h = SIZE
    img = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, w, 200), fill=BAND)
    draw.text((80, 100), TITLE, font=_font(bold, 96), fill=INK, anchor="lm")
    # The number, as large as fits the width.
    size = 260
    digits = number.national
    while draw.textlength(digits, font=_font(bold, size)) > w - 160:
        size -= 10
    draw.text((w // 2, 380), digits, font=_font(bold, size), fill=INK, anchor="mm")
    qr = _qr(url, 500)
    img.paste(qr, (w - qr.width - 60, h - qr.height - 50))
    for i, line in enumerate(LINES):
        draw.text((80, 600 + i * 100), line, font=_font(regular, 52), fill=INK)
    draw.text((80, h - 80), "safenum 050", font=_font(bold, 44), fill=(120, 120, 120))
    return img


def render_png(number: SafeNumber, url: str) -> bytes:
    out = io.BytesIO()
    _card(number, url).save(out, "PNG", dpi=(DPI, DPI), optimize=True)
    return out.getvalue()


def render_pdf(number: SafeNumber, url: str) -> bytes:
    out = io.BytesIO()
    _card(number, url).save(out, "PDF", resolution=DPI, title=f"safenum {number.national}")
    return out.getvalue()
