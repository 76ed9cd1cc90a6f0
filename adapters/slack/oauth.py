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
INSTALLATIONS_TABLE = AsyncSQLAlchemyInstallationStore.default_installations_table_name
BOTS_TABLE = AsyncSQLAlchemyInstallationStore.default_bots_table_name
STATES_TABLE = "slack_oauth_states"


def build_states_table(metadata: sa.MetaData) -> sa.Table:
    """The OAuth states table, defined once so the migration tests can hold 0005 to it."""
    return sa.Table(
        STATES_TABLE,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("state", sa.String(64), nullable=False, unique=True),
        sa.Column("expire_at", sa.Float, nullable=False),
    )


def slack_metadata() -> sa.MetaData:
    """The Slack tables as slack-sdk and this module define them; migration 0005 creates them."""
    metadata = sa.MetaData()
    AsyncSQLAlchemyInstallationStore.build_installations_table(metadata, INSTALLATIONS_TABLE)
    AsyncSQLAlchemyInstallationStore.build_bots_table(metadata, BOTS_TABLE)
    build_states_table(metadata)
    return metadata


class DatabaseStateStore(AsyncOAuthStateStore):
    """One-time OAuth states in a table of planbot's database, each valid ten minutes."""

    def __init__(self, engine: AsyncEngine, expiration_seconds: int = STATE_SECONDS) -> None:
        self.engine = engine
        self.expiration_seconds = expiration_seconds
        self.table = build_states_table(sa.MetaData())

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
    """Bolt's OAuth settings with both stores on planbot's database (tables: migration 0005)."""
    installations = AsyncSQLAlchemyInstallationStore(client_id=client_id, engine=engine)
    states = DatabaseStateStore(engine)
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
