"""`find`: every route (name, id, order reference, Slack team, Telegram user and chat), each hit
saying how it matched; at most ten with "more" said; junk finds nothing or is refused."""

from __future__ import annotations

import pytest

from core.access import Actor, StaffTier
from core.errors import InvalidRequest, NotFound
from core.lifecycle import Status
from core.services.context import Context
from core.services.staff.lookup import Holding
from core.services.staff.lookup_find import FindRoute, FoundWorkspaces, WorkspaceHit, find
from core.services.staff.targets import resolve_workspace
from core.services.workspaces import create_workspace, ensure_workspace
from tests.integration.staff_seed import OWNER, seed_customer

VIEWER = Actor("slack", "UVIEW", tier=StaffTier.VIEWER)


def routes(found: FoundWorkspaces) -> list[tuple[str, FindRoute]]:
    return [(hit.name, hit.matched) for hit in found.hits]


async def named(ctx: Context, *names: str) -> list[int]:
    return [
        await create_workspace(ctx, Actor("telegram", f"9{n}"), name)
        for n, name in enumerate(names)
    ]


async def test_names_match_in_any_case_the_whole_name_first(ctx: Context) -> None:
    await named(ctx, "Old Acme", "Acme Corp", "acme", "Beta")
    found = await find(ctx, VIEWER, "ACME")
    assert routes(found) == [
        ("acme", FindRoute.EXACT_NAME),
        ("Acme Corp", FindRoute.NAME),
        ("Old Acme", FindRoute.NAME),
    ]
    assert not found.more


async def test_an_id_with_or_without_a_hash_finds_that_workspace(ctx: Context) -> None:
    _, beta = await named(ctx, "Acme", "Beta")
    for typed in (str(beta), f"#{beta}", f"  #{beta} "):
        assert routes(await find(ctx, VIEWER, typed)) == [("Beta", FindRoute.ID)]


async def test_an_order_reference_finds_its_workspace_in_any_case(ctx: Context) -> None:
    seeded = await seed_customer(ctx)
    await named(ctx, "Other")
    for typed in (seeded.pending.reference, seeded.paid.reference.upper()):
        found = await find(ctx, VIEWER, typed)
        assert routes(found) == [("Acme Support", FindRoute.ORDER)]
        assert found.hits[0].id == seeded.workspace_id


async def test_a_slack_team_id_finds_the_slack_workspace(ctx: Context) -> None:
    team = await ensure_workspace(ctx, "slack", "T0ACME", "Acme on Slack")
    await ensure_workspace(ctx, "console", "T0ACME", "A console workspace")
    found = await find(ctx, VIEWER, "t0acme")
    assert found.hits[0] == WorkspaceHit(
        team, "Acme on Slack", "slack", FindRoute.SLACK_TEAM, (), billing_admins=0
    )
    assert len(found.hits) == 1


async def test_a_telegram_user_finds_each_workspace_they_belong_to(ctx: Context) -> None:
    seeded = await seed_customer(ctx)
    other = await create_workspace(ctx, OWNER, "Side Project")
    await named(ctx, "Unrelated")
    found = await find(ctx, VIEWER, OWNER.user_id)
    assert [(h.id, h.matched) for h in found.hits] == [
        (seeded.workspace_id, FindRoute.TELEGRAM_USER),
        (other, FindRoute.TELEGRAM_USER),
    ]


async def test_a_telegram_chat_finds_the_workspaces_whose_orders_started_there(
    ctx: Context,
) -> None:
    seeded = await seed_customer(ctx)
    found = await find(ctx, VIEWER, "-100555")
    assert [(h.id, h.matched) for h in found.hits] == [
        (seeded.workspace_id, FindRoute.TELEGRAM_CHAT)
    ]


async def test_a_hit_tells_the_platform_the_holdings_and_the_billing_admins(
    ctx: Context,
) -> None:
    seeded = await seed_customer(ctx)
    found = await find(ctx, VIEWER, "acme support")
    assert found == FoundWorkspaces(
        (
            WorkspaceHit(
                seeded.workspace_id,
                "Acme Support",
                "telegram",
                FindRoute.EXACT_NAME,
                (Holding("cc1", 5, Status.ACTIVE), Holding("cc2", 10, Status.TRY)),
                billing_admins=2,
            ),
        ),
        more=False,
    )


async def test_ten_hits_at_most_and_more_said_when_there_are_more(ctx: Context) -> None:
    await named(ctx, *(f"Shop {n:02}" for n in range(10)))
    found = await find(ctx, VIEWER, "shop")
    assert len(found.hits) == 10 and not found.more
    await named(ctx, "Shop 10")
    found = await find(ctx, VIEWER, "shop")
    assert len(found.hits) == 10 and found.more
    assert [h.name for h in found.hits] == [f"Shop {n:02}" for n in range(10)]


async def test_the_same_workspace_is_one_hit_under_its_best_route(ctx: Context) -> None:
    (shop,) = await named(ctx, "Shop")
    found = await find(ctx, VIEWER, str(shop))
    assert routes(found) == [("Shop", FindRoute.ID)]
    (numbered,) = await named(ctx, str(shop))
    found = await find(ctx, VIEWER, str(shop))
    assert [(h.id, h.matched) for h in found.hits] == [
        (shop, FindRoute.ID),
        (numbered, FindRoute.EXACT_NAME),
    ]


async def test_wildcards_are_plain_characters(ctx: Context) -> None:
    await named(ctx, "100% Coffee", "Tea_House", "Plain")
    assert routes(await find(ctx, VIEWER, "%")) == [("100% Coffee", FindRoute.NAME)]
    assert routes(await find(ctx, VIEWER, "_")) == [("Tea_House", FindRoute.NAME)]
    assert routes(await find(ctx, VIEWER, "0% c")) == [("100% Coffee", FindRoute.NAME)]


@pytest.mark.parametrize(
    "typed", ["", "   ", "\x00", "\n\t\x1b", "x" * 10_000, "a" * 201, "\u200b" * 3]
)
async def test_empty_control_only_or_overlong_text_is_refused(ctx: Context, typed: str) -> None:
    await named(ctx, "Acme")
    with pytest.raises(InvalidRequest):
        await find(ctx, VIEWER, typed)


@pytest.mark.parametrize(
    "typed",
    [
        "9" * 30,
        "99999999999",
        "2147483648",
        "-" + "1" * 25,
        "²",
        "#",
        "Công ty Ánh Dương",
        "' OR 1=1 --",
    ],
)
async def test_junk_finds_nothing_and_raises_nothing(ctx: Context, typed: str) -> None:
    await seed_customer(ctx)
    found = await find(ctx, VIEWER, typed)
    assert found == FoundWorkspaces((), more=False)


async def test_control_characters_inside_the_text_are_spaces(ctx: Context) -> None:
    await named(ctx, "Acme Support")
    assert routes(await find(ctx, VIEWER, "acme\x00support")) == [
        ("Acme Support", FindRoute.EXACT_NAME)
    ]
    assert routes(await find(ctx, VIEWER, "acme\t\n  support")) == [
        ("Acme Support", FindRoute.EXACT_NAME)
    ]


@pytest.mark.parametrize(
    "typed", ["99999999999", "2147483648", "0" * 12 + "5", "a\x00b", "9" * 5000]
)
async def test_naming_a_workspace_with_junk_is_a_refusal_on_either_database(
    ctx: Context, typed: str
) -> None:
    await named(ctx, "Acme")
    with pytest.raises(NotFound):
        await resolve_workspace(ctx, typed)


async def test_a_named_workspace_carries_its_time_zone(ctx: Context) -> None:
    seeded = await seed_customer(ctx, timezone="Asia/Ho_Chi_Minh")
    ref = await resolve_workspace(ctx, f"#{seeded.workspace_id}")
    assert (ref.name, ref.timezone) == ("Acme Support", "Asia/Ho_Chi_Minh")
