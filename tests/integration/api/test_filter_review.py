"""Learning from review on the real database: a text marked as spam is kept as an
example (body only), a released one masked; retraining on them yields a model that
blocks the campaign's next text, and the running relay's filter picks it up without a
restart. Retention forgets old examples."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from app_api.settings import Settings
from blocking.corpus import build
from blocking.holder import FilterHolder
from blocking.retrain import retrain
from blocking.review_examples import FilterExample, examples, keep_example, purge
from blocking.text_records import TextRecord
from blocking.types import Category
from numbering.types import SafeNumber
from tests.conftest import Clock
from tests.integration.api.conftest import Api
from tests.integration.api.test_texts_api import ALICE, OTHER, TEXTER, ad, seed

# A campaign the shipped model lets through: no link, no number, nothing a rule knows.
CAMPAIGN = "이번 주말 동창회 모임 장소는 강남역 근처로 정했습니다 참석 여부 답장 부탁드려요 {}"


@pytest.fixture
def holder(api: Api, monkeypatch: pytest.MonkeyPatch) -> FilterHolder:
    """The filter ``safenum serve`` judges with, re-checking its model file each time."""
    relay = api.client.app.state.bridge.relay  # type: ignore[attr-defined]
    found: FilterHolder = relay.filter
    monkeypatch.setattr(found, "_check_seconds", 0.0)
    return found


def small_corpus() -> tuple[list, list]:  # type: ignore[type-arg]
    """The hand-written part of the shipped corpus and its held-out split: a retrain in
    seconds (``safenum filter retrain`` uses the whole corpus, which takes minutes)."""
    train, held_out = build(real=False)
    return (
        [e for e in train if e.source == "safenum-handwritten"],
        [e for e in held_out if e.source == "safenum-handwritten"],
    )


def test_marked_spam_is_learnt_and_the_campaigns_next_text_is_blocked(
    api: Api, holder: FilterHolder, settings: Settings, clock: Clock
) -> None:
    api.pool()
    alice = api.driver(ALICE)
    mine = api.numbered_vehicle(alice)

    def judge(body: str, sender: str | None, number: SafeNumber):  # type: ignore[no-untyped-def]
        return holder.judge(body, sender)

    shipped = holder.version
    first = seed(api, mine, CAMPAIGN.format("A7"), judge=judge)
    with api.core.sessions.begin() as session:
        row = session.get(TextRecord, first)
        assert row is not None
        assert (row.status, row.filter_model) == ("delivered", shipped)  # the filter missed it

    partner = api.operator("partner", "partner_admin")
    r = api.client.post(f"/v1/ops/texts/{first}/spam", headers=partner)
    assert r.status_code == 201, r.text
    assert api.client.post(f"/v1/ops/texts/{first}/spam", headers=partner).status_code == 201
    with api.core.sessions.begin() as session:
        kept = examples(session)
        columns = session.execute(text("SELECT * FROM filter_examples")).keys()
    assert [(e.text, e.label) for e in kept] == [(CAMPAIGN.format("A7"), Category.SPAM)]
    assert sorted(columns) == ["body", "created_at", "id", "label"]  # no sender, no owner

    result = retrain(kept, settings.filter_model_path, clock(), corpus=small_corpus())
    assert result.replaced, result
    assert result.candidate_score.no_worse_than(result.current_score)

    later = seed(
        api, mine, CAMPAIGN.format("회비는 당일 걷습니다"), sender=OTHER, judge=judge, minutes=5
    )
    with api.core.sessions.begin() as session:
        row = session.get(TextRecord, later)
        assert row is not None
        assert (row.status, row.filter_model) == ("blocked", result.candidate)
    assert result.candidate != shipped
    # Car texts are still delivered by the retrained model.
    assert not holder.judge("차 좀 빼주세요 출근해야 해서요").blocked


def test_without_reviewed_examples_nothing_is_replaced(
    api: Api, settings: Settings, clock: Clock
) -> None:
    result = retrain([], settings.filter_model_path, clock(), corpus=small_corpus())
    assert not result.replaced
    assert not settings.filter_model_path.exists()


def test_a_released_text_is_kept_masked_and_examples_expire(
    api: Api, settings: Settings, clock: Clock
) -> None:
    api.pool()
    alice = api.driver(ALICE)
    mine = api.numbered_vehicle(alice)
    body = "12가 3456 차주분 죄송해요 (광고)아님 010-9876-5432 로 전화주세요 테헤란로 123 앞"
    blocked = seed(api, mine, body, sender=TEXTER, judge=ad)
    r = api.client.post(f"/v1/texts/{blocked}/release", headers=alice)
    assert r.status_code == 202, r.text
    with api.core.sessions.begin() as session:
        (row,) = session.scalars(select(FilterExample)).all()
        assert (row.label, row.body) == (
            "ham",
            "[차량번호] 차주분 죄송해요 (광고)아님 [전화번호] 로 전화주세요 [주소] 앞",
        )

        keep_example(session, "spam", "VIP 첫충 30%", clock())

    clock.advance(days=settings.filter_ham_example_days - 1)
    with api.core.sessions.begin() as session:
        assert purge(session, clock(), settings) == 0
    clock.advance(days=2)  # past the ham retention, not the spam one
    with api.core.sessions.begin() as session:
        assert purge(session, clock(), settings) == 1
        assert [r.label for r in session.scalars(select(FilterExample))] == ["spam"]
    clock.advance(days=settings.filter_spam_example_days)
    with api.core.sessions.begin() as session:
        assert purge(session, clock(), settings) == 1
        assert session.scalars(select(FilterExample)).all() == []
