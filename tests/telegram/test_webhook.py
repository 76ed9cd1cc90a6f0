"""The webhook: the secret header is checked first, junk is refused, neither is processed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.model import Conversation
from core.services.context import Context
from tests.telegram.conftest import Telegram
from tests.telegram.fake_api import FakeBotApi


async def conversations(services: Context) -> int:
    async with services.db.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).select_from(Conversation)) or 0)


@pytest.mark.parametrize("secret", [None, "", "wrong", "s3cret-Token_valuE", "s3cret-Token_value "])
async def test_a_wrong_or_missing_secret_gets_403_and_nothing_happens(
    hook: Telegram, api: FakeBotApi, services: Context, secret: str | None
) -> None:
    update = {"update_id": 1, **hook.message(1001, "/start")}
    response = await hook.post(update, secret=secret)
    assert response.status_code == 403
    assert api.calls == [] and await conversations(services) == 0


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"[1, 2]", b'{"no": "update_id"}', b"\xff\xfe", b'{"update_id": "x"}'],
)
async def test_junk_gets_400_and_nothing_happens(
    hook: Telegram, api: FakeBotApi, services: Context, body: bytes
) -> None:
    assert hook.http is not None
    response = await hook.http.post(
        "/telegram/webhook",
        content=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_value"},
    )
    assert response.status_code == 400
    assert not api.made("sendMessage") and await conversations(services) == 0


async def test_only_post_is_accepted(hook: Telegram) -> None:
    assert hook.http is not None
    response = await hook.http.get("/telegram/webhook")
    assert response.status_code == 405


async def test_a_good_update_is_processed_before_the_answer(
    hook: Telegram, api: FakeBotApi, services: Context
) -> None:
    response = await hook.post({"update_id": 7, **hook.message(1001, "/help")})
    assert response.status_code == 200
    assert any("/plans" in text for text in api.texts(1001))
    assert await conversations(services) == 1
