"""The console adapter: the whole product on stdin/stdout, numbered options, works from a pipe."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import secrets
import sys
import tempfile
import threading
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from adapters.repeat import repeat
from bot.engine import Engine
from bot.flow import BACK, CANCEL, STANDING, pick_label
from bot.flows import all_flows
from bot.i18n import Translator
from bot.notices import notice_replies, notice_translator
from bot.vocabulary import (
    Choices,
    Confirmation,
    Image,
    Incoming,
    Link,
    NumberPrompt,
    Option,
    Reply,
    Tap,
    Text,
)
from core.access import Actor, StaffTier
from core.errors import InvalidRequest
from core.services.context import Context
from core.services.notice_checks import Ready
from core.services.notice_sender import deliver_in_chat
from core.services.staff.targets import resolve_workspace
from core.services.workspaces import ensure_member, ensure_workspace
from core.states import Role

PLATFORM = "console"
NAVIGATION = (BACK, CANCEL)
NOTICE_POLL_SECONDS = 1.0
STAFF_CHAT = "staff"
"""The console's staff chat (`PLANBOT_STAFF_CHATS=console:staff`): support staff's console
chats show what is posted there (flagged payments, approvals), each notice once."""
READ_SIZE = 65536


async def read_lines(source: TextIO) -> AsyncGenerator[str, None]:
    """The lines of `source` as they come; waiting for one can be cancelled at once (Ctrl-C
    does not wait for Enter), as the blocking reads happen in a daemon thread of their own."""
    try:
        fd = os.dup(source.fileno())  # the thread's own, whatever becomes of `source`
    except (OSError, ValueError):
        while line := source.readline():
            yield line
        return
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    threading.Thread(
        target=_pump, args=(fd, loop, chunks), name="console input", daemon=True
    ).start()
    decoder = codecs.getincrementaldecoder(source.encoding or "utf-8")(errors="replace")
    pending = ""
    while True:
        chunk = await chunks.get()
        pending += decoder.decode(chunk, final=not chunk)
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line + "\n"
        if not chunk:
            break
    if pending:
        yield pending


def _pump(fd: int, loop: asyncio.AbstractEventLoop, chunks: asyncio.Queue[bytes]) -> None:
    """Raw reads of the descriptor handed to the event loop; an empty chunk is the end."""
    try:
        chunk = b"-"
        while chunk:
            try:
                chunk = os.read(fd, READ_SIZE)
            except OSError:
                chunk = b""
            try:
                loop.call_soon_threadsafe(chunks.put_nowait, chunk)
            except RuntimeError:
                return  # the event loop has closed: nobody reads any more
    finally:
        os.close(fd)


def render(reply: Reply, t: Translator) -> tuple[str, tuple[Option, ...]]:
    """One reply as console text, and the options a typed number picks (none for prompts);
    the console's own words ("Link:") in `t`'s language."""
    if isinstance(reply, Text):
        return reply.text, ()
    if isinstance(reply, Link):
        return reply.text + "\n" + t("Link: {url}", url=reply.url), ()
    if isinstance(reply, Image):
        return reply.caption + "\n" + t("Chart: {path}", path=save_image(reply)), ()
    if isinstance(reply, NumberPrompt) or (
        isinstance(reply, Choices) and all(o.value in NAVIGATION for o in reply.options)
    ):
        # A question answered by typing (a number, a name, a reason): typed numbers are
        # answers there, so Back and Cancel are offered as commands, not numbered.
        extra = " ".join(f"/{o.value}" for o in reply.options)
        return f"{reply.text}" + (f" ({extra})" if extra else ""), ()
    if isinstance(reply, Confirmation):
        lines = [reply.title, *(f"  {label}: {value}" for label, value in reply.lines)]
        if reply.footnote:
            lines.append(reply.footnote)
        return "\n".join(lines + _numbered(reply.options)), reply.options
    return "\n".join([reply.text, *_numbered(reply.options)]), reply.options


def save_image(image: Image) -> Path:
    """A picture as a file the person at the console can open (Chart: PATH)."""
    folder = Path(tempfile.gettempdir()) / "planbot-charts"
    folder.mkdir(exist_ok=True)
    path = folder / f"{secrets.token_hex(4)}-{image.filename}"
    path.write_bytes(image.png)
    return path


def _as_command(value: str) -> str:
    """A standing button as the command it runs (`run:staff:show 12` is `/staff show 12`)."""
    command, _, argument = value.removeprefix(STANDING).partition(":")
    return f"/{command} {argument}".rstrip()


def _numbered(options: tuple[Option, ...]) -> list[str]:
    return [f"[{n}] {option.label}" for n, option in enumerate(options, start=1)]


@dataclass
class ConsoleChat:
    """One person at a terminal: turns typed lines into updates and replies into text."""

    engine: Engine
    workspace: str
    user: str
    language: str = "en"
    out: TextIO = field(default_factory=lambda: sys.stdout)
    options: tuple[Option, ...] = ()
    version: int = 0
    workspace_id: int | None = None
    """Set for support staff: the customer workspace they opened the chat on, if any."""
    typing: bool = False
    """The question shown is answered by typing: typed numbers are answers, not positions."""

    @property
    def chat(self) -> str:
        return f"{self.workspace}:{self.user}"

    def incoming(self, line: str) -> Incoming:
        """A typed number is the position of a shown option and a typed label (or its
        leading words) names one; /name is a command; anything else is text."""
        text = line.strip()
        base = Incoming(
            PLATFORM,
            self.workspace,
            self.chat,
            self.user,
            self.language,
            workspace_id=self.workspace_id,
        )
        if text.startswith("/"):
            name, _, argument = text[1:].partition(" ")
            return replace(base, command=name, argument=argument)
        picked = self._pick(text)
        if picked is not None:
            return replace(base, tap=Tap(picked.value, self.version))
        return replace(base, text=text)

    def _out_of_range(self, text: str) -> bool:
        """A number typed at a numbered menu that names no position: said here, since a
        number there is a position and never reaches an option as text."""
        if not (self.options and text.isascii() and text.isdigit()):
            return False
        if 1 <= (int(text) if len(text) < 6 else 0) <= len(self.options):
            return False
        t = Translator(self.language)
        refusal = t(
            "Type a number from 1 to {count}, or an option's label.", count=len(self.options)
        )
        print("\n".join([refusal, *_numbered(self.options)]), file=self.out)
        self.out.flush()
        return True

    def _pick(self, text: str) -> Option | None:
        if text.isascii() and text.isdigit():
            position = int(text) if len(text) < 6 else 0
            return self.options[position - 1] if 1 <= position <= len(self.options) else None
        return pick_label(self.options, text)

    def show(self, replies: list[Reply]) -> None:
        t = Translator(self.language)
        for reply in replies:
            text, options = render(reply, t)
            print(text, file=self.out)
            if isinstance(reply, Choices | Confirmation | NumberPrompt):
                self.options, self.version = options, reply.version
                self.typing = not options
        self.out.flush()

    def show_notice(self, t: Translator, replies: list[Reply]) -> None:
        """A notice's buttons are numbered after the menu shown, which stays answerable; at a
        question answered by typing they are written as the commands they run instead."""
        for reply in replies:
            if not isinstance(reply, Choices):
                print(render(reply, t)[0], file=self.out)
            elif self.typing:
                lines = [f"  {o.label}: {_as_command(o.value)}" for o in reply.options]
                print("\n".join([reply.text, *lines]), file=self.out)
            else:
                first = len(self.options) + 1
                numbered = [f"[{n}] {o.label}" for n, o in enumerate(reply.options, start=first)]
                print("\n".join([reply.text, *numbered]), file=self.out)
                self.options = (*self.options, *reply.options)

    async def step(self, line: str) -> None:
        if not line.strip():
            return
        if self._out_of_range(line.strip()):
            return
        self.show(await self.engine.handle(self.incoming(line)))
        await self.deliver_notices()

    async def deliver_notices(self) -> int:
        """This chat's notices, each in the language and zone its check gives; a support
        person's chat also shows the console staff chat's. How many were handled."""
        services = self.engine.services
        count = await deliver_in_chat(services, PLATFORM, self.chat, self._print_notice)
        if self.is_staff_desk:
            count += await deliver_in_chat(services, PLATFORM, STAFF_CHAT, self._print_notice)
        if count:
            self.out.flush()
        return count

    def _print_notice(self, ready: Ready) -> None:
        services = self.engine.services
        notice = ready.notice
        t = notice_translator(services.staff, notice, ready.locale, ready.timezone)
        self.show_notice(t, notice_replies(t, services.catalog, notice))

    @property
    def is_staff_desk(self) -> bool:
        """Support staff's chat, where PLANBOT_STAFF_CHATS names the console's staff chat."""
        staff = self.engine.services.staff
        return staff.tier_of(PLATFORM, self.user) is not None and staff.is_staff_chat(
            PLATFORM, STAFF_CHAT
        )

    async def run(self, source: TextIO) -> None:
        """Read lines until end of input, telling the chat about payments meanwhile."""
        poller = asyncio.create_task(self._poll())
        try:
            await self.deliver_notices()
            async with contextlib.aclosing(read_lines(source)) as lines:
                async for line in lines:
                    await self.step(line)
        finally:
            poller.cancel()
        await self.deliver_notices()

    async def _poll(self) -> None:
        await asyncio.sleep(NOTICE_POLL_SECONDS)
        await repeat(self.deliver_notices, NOTICE_POLL_SECONDS, "console notice delivery")


STAFF_DESK = "staff"
"""The console chat of support staff who opened no customer workspace."""
CONSOLE_ROLES = {"admin": Role.ADMIN, "member": Role.MEMBER, "owner": Role.OWNER}


async def open_chat(
    ctx: Context,
    *,
    workspace: str | None,
    user: str,
    role: str,
    language: str,
    out: TextIO | None = None,
) -> ConsoleChat:
    """A trusted local chat: for customers the workspace and the member are made with the
    role if missing; support staff (a manager here) name an existing workspace, or none."""
    if role == "staff":
        ctx = replace(ctx, staff=ctx.staff.with_member(PLATFORM, user, StaffTier.MANAGER))
        target = None if workspace is None else await resolve_workspace(ctx, workspace)
        engine = Engine(ctx, all_flows())
        return ConsoleChat(
            engine,
            STAFF_DESK if target is None else target.external_id or str(target.id),
            user,
            language,
            out or sys.stdout,
            workspace_id=None if target is None else target.id,
        )
    if workspace is None:
        raise InvalidRequest("Name the workspace to chat in.")
    workspace_id = await ensure_workspace(ctx, PLATFORM, workspace, workspace)
    await ensure_member(ctx, workspace_id, Actor(PLATFORM, user), CONSOLE_ROLES[role])
    engine = Engine(ctx, all_flows())
    return ConsoleChat(engine, workspace, user, language, out or sys.stdout)
