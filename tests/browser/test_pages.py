"""The pages themselves, without a browser: languages, headers, static files."""

from __future__ import annotations

import json

import httpx

from app_api.routers.web import WEB_DIR
from tests.browser.conftest import Server


def test_both_languages_have_the_same_strings() -> None:
    ko = json.loads((WEB_DIR / "i18n" / "ko.json").read_text("utf-8"))
    en = json.loads((WEB_DIR / "i18n" / "en.json").read_text("utf-8"))
    assert set(ko) == set(en)


def test_korean_first_english_on_request_and_remembered(server: Server) -> None:
    with httpx.Client(base_url=server.url) as http:
        page = http.get("/console")
        assert page.status_code == 200
        assert '<html lang="ko">' in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        english = http.get("/console?lang=en")
        assert '<html lang="en">' in english.text
        assert http.cookies.get("safenum_lang") == "en"
        assert '<html lang="en">' in http.get("/app/").text  # the cookie remembers


def test_static_files_only_from_the_static_folder(server: Server) -> None:
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/web/common.js").headers["content-type"].startswith("text/javascript")
        assert http.get("/web/../i18n/ko.json").status_code == 404
        assert http.get("/web/%2e%2e/%2e%2e/routers/web.py").status_code == 404
        sw = http.get("/app/sw.js")
        assert sw.status_code == 200
        manifest = http.get("/app/manifest.webmanifest").json()
        assert manifest["scope"] == "/app/"
