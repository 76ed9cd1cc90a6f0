"""An update the platform delivers again advances the conversation once: a copy while the
first is answered (a second worker at once) says nothing, and a later repeat (its answer
may have been lost) is answered with the question the conversation waits on (DESIGN 9)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import select

from bot.engine import Engine
from bot.flows import all_flows
from bot.vocabulary import Incoming, Tap
from core.access import Actor
from core.clock import FixedClock
from core.model import Conversation
from core.services.context import Context


async def conversation(ctx: Context) -> Conversation:
    async with ctx.db.read() as session:
        found = await session.scalar(select(Conversation))
        assert found is not None
        return found


def update(owner: Actor, workspace_id: int, update_id: int, **what: object) -> Incoming:
    base = Incoming(owner.platform, None, owner.user_id, owner.user_id, workspace_id=workspace_id)
    return replace(base, update_id=str(update_id), **what)  # type: ignore[arg-type]


async def test_an_update_delivered_again_moves_nothing_and_asks_where_it_left_off(
    ctx: Context, owner: Actor, workspace_id: int, clock: FixedClock
) -> None:
    engine = Engine(ctx, all_flows())
    await engine.handle(update(owner, workspace_id, 7, command="upgrade"))
    tap = update(owner, workspace_id, 8, tap=Tap("package:cc2", (await conversation(ctx)).version))
    assert "Choose a billing cycle" in str(await engine.handle(tap))
    moved = await conversation(ctx)
    assert await engine.handle(tap) == []  # a copy in flight: the first answer is on its way
    clock.advance(timedelta(minutes=1))
    for repeat in (tap, update(owner, workspace_id, 5, text="3 months")):
        replies = str(await engine.handle(repeat))
        assert "Choose a billing cycle" in replies and "out of date" not in replies
    again = await conversation(ctx)
    assert (again.step, again.version, again.last_update) == ("cycle", moved.version, "8")
    assert "How many accounts" in str(
        await engine.handle(update(owner, workspace_id, 9, text="3 months"))
    )


async def test_the_same_update_at_two_workers_at_once_advances_once(
    ctx: Context, owner: Actor, workspace_id: int
) -> None:
    one, two = Engine(ctx, all_flows()), Engine(ctx, all_flows())
    await one.handle(update(owner, workspace_id, 1, command="upgrade"))
    version = (await conversation(ctx)).version
    tap = update(owner, workspace_id, 2, tap=Tap("package:cc2", version))
    answers = await asyncio.gather(one.handle(tap), two.handle(tap))
    assert sorted(len(a) for a in answers)[0] == 0  # the copy says nothing
    assert any("Choose a billing cycle" in str(a) for a in answers)
    assert not any("already handled" in str(a) for a in answers)
    after = await conversation(ctx)
    assert (after.step, after.version) == ("cycle", version + 1)
