"""The web front ends: the operators' console (/console) and the drivers' app (/app/).

Pages are rendered here from templates in ``app_api/web/`` with the strings of one
language (``web/i18n/<lang>.json``, Korean unless the visitor picked English); their
JavaScript calls the ``/v1`` API with the visitor's tokens. Nothing here reads personal
data, so every response is the same for everyone who asks in the same language.
"""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Cookie, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from numbering.errors import NotFound

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
STATIC_DIR = WEB_DIR / "static"
Lang = Literal["ko", "en"]
LANG_COOKIE = "safenum_lang"
_KEY = re.compile(r"\{\{\s*([a-z0-9_.]+)\s*\}\}")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_SECURITY = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

router = APIRouter(include_in_schema=False)


@lru_cache
def strings(lang: Lang) -> dict[str, str]:
    table: dict[str, str] = json.loads((WEB_DIR / "i18n" / f"{lang}.json").read_text("utf-8"))
    return table


@lru_cache
def _template(name: str) -> str:
    return (WEB_DIR / name).read_text("utf-8")


def render(name: str, lang: Lang) -> str:
    """Fill ``{{key}}`` from the language file; an unknown key fails loudly (KeyError)."""
    table = strings(lang)
    # Inside <script type="application/json">, "<" must not be able to close the element.
    embedded = json.dumps(table, ensure_ascii=False).replace("<", "\\u003c")
    special = {"lang": lang, "strings_json": embedded}

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        return special[key] if key in special else html.escape(table[key])

    return _KEY.sub(fill, _template(name))


def _lang(query: str | None, cookie: str | None) -> tuple[Lang, bool]:
    """The language to render and whether the visitor just chose it (set the cookie)."""
    if query == "en":
        return "en", True
    if query == "ko":
        return "ko", True
    return ("en" if cookie == "en" else "ko"), False


LangQuery = Annotated[str | None, Query(alias="lang", max_length=8)]
LangCookie = Annotated[str | None, Cookie(alias=LANG_COOKIE, max_length=8)]


def _page(name: str, lang_q: str | None, lang_c: str | None) -> HTMLResponse:
    lang, chosen = _lang(lang_q, lang_c)
    page = HTMLResponse(
        render(name, lang), headers={**_SECURITY, "Cache-Control": "no-cache", "Vary": "Cookie"}
    )
    if chosen:
        page.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax")
    return page


@router.get("/console")
def console(lang: LangQuery = None, saved: LangCookie = None) -> HTMLResponse:
    return _page("console.html", lang, saved)


@router.get("/app")
def app_redirect(request: Request) -> RedirectResponse:
    # The service worker's scope is /app/, so the app lives there.
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/app/{query}", status_code=308)


@router.get("/app/")
def drivers_app(lang: LangQuery = None, saved: LangCookie = None) -> HTMLResponse:
    return _page("app.html", lang, saved)


@router.get("/app/sw.js")
def service_worker() -> FileResponse:
    return FileResponse(
        STATIC_DIR / "sw.js",
        media_type="text/javascript",
        headers={**_SECURITY, "Cache-Control": "no-cache"},
    )


@router.get("/app/manifest.webmanifest")
def manifest() -> FileResponse:
    return FileResponse(
        STATIC_DIR / "manifest.webmanifest",
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


@router.get("/web/{path:path}")
def static(path: str) -> Response:
    target = (STATIC_DIR / path).resolve()
    media = _TYPES.get(target.suffix)
    if media is None or not target.is_relative_to(STATIC_DIR) or not target.is_file():
        raise NotFound("no such file")
    return FileResponse(
        target, media_type=media, headers={**_SECURITY, "Cache-Control": "no-cache"}
    )
