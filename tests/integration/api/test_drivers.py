"""The drivers' app end to end: sign-in, vehicles, numbers, cards, public page, deletion."""

from __future__ import annotations

import io

from PIL import Image

from tests.integration.api.conftest import Api

PHONE = "010-2345-6789"


def test_sign_in_register_vehicle_and_get_a_number(api: Api) -> None:
    api.pool()
    me = api.driver(PHONE)
    v = api.client.post("/v1/vehicles", json={"plate": "12가 3456"}, headers=me)
    assert v.status_code == 201
    assert v.json()["plate"] == "12가**56"
    assert v.json()["safe_number"] is None
    again = api.client.post("/v1/vehicles", json={"plate": "12가3456"}, headers=me)
    assert again.json()["id"] == v.json()["id"]  # registering twice returns the same vehicle
    n = api.client.post(f"/v1/vehicles/{v.json()['id']}/number", json={}, headers=me)
    assert n.status_code == 201
    body = n.json()
    assert body["safe_number"].startswith("0504-")
    assert body["owner_phone"] == "010-****-6789"
    listed = api.client.get("/v1/numbers", headers=me).json()
    assert [x["safe_number"] for x in listed] == [body["safe_number"]]
    assert (
        api.client.get("/v1/vehicles", headers=me).json()[0]["safe_number"] == body["safe_number"]
    )
    assert PHONE.replace("-", "") not in n.text
    assert "2345" not in n.text


def test_lifecycle_routes(api: Api) -> None:
    api.pool()
    me = api.driver(PHONE)
    number = api.numbered_vehicle(me)
    base = f"/v1/numbers/{number}"
    assert api.client.post(f"{base}/pause", headers=me).json()["status"] == "paused"
    again = api.client.post(f"{base}/pause", headers=me)
    assert again.status_code == 409
    assert again.json()["title"] == "invalid-transition"
    assert again.headers["content-type"] == "application/problem+json"
    assert api.client.post(f"{base}/resume", headers=me).json()["status"] == "active"
    assert api.client.post(f"{base}/renew", headers=me).status_code == 200
    released = api.client.post(f"{base}/release", headers=me)
    assert released.json()["status"] == "quarantined"
    assert api.client.get(base, headers=me).status_code == 404  # no longer mine


def test_invalid_input_names_the_field(api: Api) -> None:
    me = api.driver(PHONE)
    r = api.client.post("/v1/vehicles", json={"plate": "ABC"}, headers=me)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "plate"
    r = api.client.get("/v1/numbers/0104-1234-5678", headers=me)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "safe_number"
    r = api.client.post("/v1/auth/code", json={"phone": "02-123-4567"})
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "field": "phone",
            "reason": "landlines cannot own a safe number; use a mobile number (010-...)",
        }
    ]


def test_parking_card_png_pdf_and_public_page(api: Api) -> None:
    api.pool()
    me = api.driver(PHONE)
    number = api.numbered_vehicle(me)
    png = api.client.get(f"/v1/numbers/{number}/card.png", headers=me)
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(png.content))
    assert img.size == (1748, 1240)
    pdf = api.client.get(f"/v1/numbers/{number}/card.pdf", headers=me)
    assert pdf.content.startswith(b"%PDF")
    with api.core.engine.connect() as conn:
        from sqlalchemy import text

        token = conn.execute(text("SELECT card_token FROM numbers")).scalar_one()
    assert token
    assert number.replace("-", "") not in token
    page = api.client.get(f"/p/{token}")
    assert page.status_code == 200
    assert number in page.text
    assert f'href="tel:{number.replace("-", "")}"' in page.text
    # Nothing but the 050 number: no owner phone in any spelling, no plate.
    for leak in ("6789", "2345", "010", "+82", "3456", "가"):
        assert leak not in page.text.replace(number, "").replace(number.replace("-", ""), "")
    sent = api.client.post(f"/p/{token}/move-car")
    assert sent.status_code == 202
    to, body, from_number = api.sender.sent[-1]
    assert to.masked == "010-****-6789"
    assert str(from_number) == number
    assert "이동" in body
    # A released number's card stops working.
    api.client.post(f"/v1/numbers/{number}/release", headers=me)
    assert api.client.get(f"/p/{token}").status_code == 404


def test_unknown_card_token_is_404(api: Api) -> None:
    r = api.client.get("/p/AAAAAAAAAAAAAAAAAAAAAAAA")
    assert r.status_code == 404
    assert r.json()["title"] == "not-found"


def test_account_deletion_returns_the_receipt_and_ends_the_account(api: Api) -> None:
    api.pool()
    me = api.driver(PHONE)
    api.numbered_vehicle(me)
    r = api.client.delete("/v1/me", headers=me)
    assert r.status_code == 200
    receipt = r.json()
    assert receipt["numbers_released"] == 1
    assert "owner data key" in receipt["destroyed"]
    assert "6789" not in r.text
    assert "+82" not in r.text
    gone = api.client.get("/v1/vehicles", headers=me)
    assert gone.status_code == 401
    assert gone.json()["title"] == "account-gone"
