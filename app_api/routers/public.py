"""The public page behind a parking card's QR code: no sign-in, reveals only the 050 number."""

from __future__ import annotations

import html
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse

from app_api import idempotency
from app_api.auth.deps import Api, ClientAddress
from app_api.routers.schemas import MoveCarSent, problems
from numbering.service import NumberService

router = APIRouter(tags=["public"])

MOVE_CAR_TEXT = "[safenum] 차량 이동 요청이 왔습니다. 차를 확인해 주세요."
Token = Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

_PAGE = """<!doctype html>
<html lang="ko"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>안심번호 {national}</title>
<style>body{{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}}
a,button{{display:block;width:100%;margin:1rem 0;padding:1rem;font-size:1.3rem;
text-align:center;border-radius:.6rem;border:0;background:#ffc400;color:#141826;
text-decoration:none}}</style></head>
<body><h1>{national}</h1><p>{status}</p>{actions}<p id="result" role="status"></p>
<script>
async function moveCar() {{
  const r = await fetch(location.pathname + "/move-car", {{method: "POST",
    headers: {{"Idempotency-Key": crypto.randomUUID()}}}});
  document.getElementById("result").textContent = r.ok
    ? "이동 요청 문자를 보냈습니다." : "지금은 보낼 수 없습니다. 잠시 후 다시 시도해 주세요.";
}}
</script></body></html>"""


@router.get(
    "/p/{token}",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {}}}, **problems(404, 422)},
    summary="Public page of a parking card: call, or send a move-car request",
)
def card_page(token: Token, api: Api) -> HTMLResponse:
    with api.core.numbers("public") as svc:
        number, active = svc.by_card_token(token)
    national = html.escape(number.national)
    if active:
        status = "차량 이동이 필요하면 전화하거나 요청 문자를 보내 주세요."
        actions = (
            f'<a href="tel:{number.digits}">전화하기 {national}</a>'
            '<button onclick="moveCar()">이동 요청 문자 보내기</button>'
        )
    else:
        status, actions = "운전자가 지금은 연락을 받지 않습니다.", ""
    page = _PAGE.format(national=national, status=status, actions=actions)
    return HTMLResponse(
        page, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )


@router.post(
    "/p/{token}/move-car",
    status_code=202,
    response_model=MoveCarSent,
    responses=problems(404, 409, 422, 429, 503),
    summary="Text the driver, from the 050 number, to come and move the car",
)
def move_car(
    token: Token,
    api: Api,
    client: ClientAddress,
    request: Request,
    key: idempotency.KeyHeader = None,
) -> Response:
    s = api.settings
    api.limiter.hit(f"movecar:card:{token}", s.move_car_per_card_per_hour, 3600, "move-car texts")
    api.limiter.hit(
        f"movecar:client:{client}", s.move_car_per_client_per_hour, 3600, "move-car texts"
    )

    def action(svc: NumberService) -> dict[str, Any]:
        number, phone = svc.move_car_request(token)
        api.sender.send(phone, MOVE_CAR_TEXT, sender=number)
        return {"status": "sent", "safe_number": number.national}

    return idempotency.run(
        lambda: api.core.numbers("public"),
        lambda svc: svc.repo.session,
        action,
        status=202,
        scope=f"card:{token}"[:64],
        key=key,
        fp=idempotency.fingerprint(request, {}),
        clock=api.core.clock,
    )
