"""Installing into many workspaces: Bolt's OAuth flow at /slack/install and
/slack/oauth_redirect, with installations and OAuth states kept in planbot's database."""

from __future__ import annotations

import secrets
import time

import sqlalchemy as sa
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from sqlalchemy.ext.asyncio import AsyncEngine

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
BOT_SCOPES = ("commands", "chat:write", "im:history", "im:write", "users:read")
STATE_SECONDS = 600


class DatabaseStateStore(AsyncOAuthStateStore):
    """One-time OAuth states in a table of planbot's database, each valid ten minutes."""

    def __init__(self, engine: AsyncEngine, expiration_seconds: int = STATE_SECONDS) -> None:
        self.engine = engine
        self.expiration_seconds = expiration_seconds
        self.metadata = sa.MetaData()
        self.table = sa.Table(
            "slack_oauth_states",
            self.metadata,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("state", sa.String(64), nullable=False, unique=True),
            sa.Column("expire_at", sa.Float, nullable=False),
        )

    async def create_tables(self) -> None:
        async with self.engine.begin() as connection:
            await connection.run_sync(self.metadata.create_all)

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        state = secrets.token_urlsafe(32)
        async with self.engine.begin() as connection:
            await connection.execute(
                self.table.insert().values(
                    state=state, expire_at=time.time() + self.expiration_seconds
                )
            )
        return state

    async def async_consume(self, state: str) -> bool:
        """True once for a state issued here and not yet expired."""
        async with self.engine.begin() as connection:
            result = await connection.execute(
                self.table.delete().where(
                    self.table.c.state == state, self.table.c.expire_at > time.time()
                )
            )
        return bool(result.rowcount == 1)


async def oauth_settings(
    engine: AsyncEngine, client_id: str, client_secret: str
) -> tuple[AsyncOAuthSettings, AsyncSQLAlchemyInstallationStore]:
    """Bolt's OAuth settings with both stores on planbot's database (tables made if missing)."""
    installations = AsyncSQLAlchemyInstallationStore(client_id=client_id, engine=engine)
    await installations.create_tables()  # type: ignore[no-untyped-call]
    states = DatabaseStateStore(engine)
    await states.create_tables()
    settings = AsyncOAuthSettings(
        client_id=client_id,
        client_secret=client_secret,
        scopes=list(BOT_SCOPES),
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        installation_store=installations,
        installation_store_bot_only=True,
        state_store=states,
    )
    return settings, installations
