"""A real headless Chromium (one per session) looking at planbot's web app served by uvicorn.

The server runs in a thread of its own with its own event loop and database handle; the
tests place orders through another handle on the same SQLite file, with the same frozen
clock, so what they set up is what the browser is shown.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.wait import WebDriverWait

from adapters.sandbox import SandboxGateway
from adapters.stripe.webhook import stripe_routes
from adapters.web import create_app
from core.catalog import load_catalog
from core.clock import FixedClock
from core.db import Database
from core.model import Base
from core.services.context import Context
from core.services.outbox import OutboxNotifier
from tests.conftest import START, browser_tools

WIDTHS = (1280, 390, 320)
"""A desktop, a phone, and the narrowest phone screen still in use."""
HEIGHT = 900


@dataclass
class Site:
    """The running web app: its address, the database file and the clock it shares."""

    url: str
    database_url: str
    clock: FixedClock


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    path: Path = tmp_path_factory.mktemp("browser") / "planbot.db"
    database_url = f"sqlite+aiosqlite:///{path}"
    clock = FixedClock(START)
    sock = _free_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    database = Database.from_url(database_url)
    ctx = Context(
        db=database,
        catalog=load_catalog(),
        clock=clock,
        gateway=SandboxGateway(url),
        notifier=OutboxNotifier(database, clock),
    )
    app = create_app(ctx, routes=stripe_routes(ctx, "whsec_browser"))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    # Listening before the server starts: the first requests wait in the backlog until it
    # accepts them, so nothing has to wait for the start.
    sock.listen(64)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield Site(url, database_url, clock)
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
async def shop(site: Site) -> AsyncIterator[Context]:
    """The tests' own handle on the site's database: empty tables, the site's clock reset."""
    site.clock.set(START)
    database = Database.from_url(site.database_url)
    async with database.engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.run_sync(Base.metadata.create_all)
    yield Context(
        db=database,
        catalog=load_catalog(),
        clock=site.clock,
        gateway=SandboxGateway(site.url),
        notifier=OutboxNotifier(database, site.clock),
    )
    await database.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    tools = browser_tools()
    assert tools is not None  # the collection hook leaves these tests out otherwise
    chromium, chromedriver = tools
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        "--no-first-run",
        f"--window-size={WIDTHS[0]},{HEIGHT}",
    ):
        options.add_argument(argument)
    # The system's driver, never one downloaded at run time.
    driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    driver.set_page_load_timeout(15)
    yield driver
    driver.quit()


@dataclass
class Page:
    """What the browser shows: the page's text, its language and whether it fits."""

    driver: webdriver.Chrome

    def open(self, url: str, width: int) -> Page:
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": width < 800},
        )
        self.driver.get(url)
        return self

    @property
    def text(self) -> str:
        return " ".join(self.driver.find_element(By.TAG_NAME, "body").text.split())

    @property
    def language(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "html").get_attribute("lang"))

    def overflow(self) -> tuple[int, int]:
        """(the document's width, the viewport's width): the first may not exceed the second."""
        widths = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth];"
        )
        return int(widths[0]), int(widths[1])

    def fits(self) -> bool:
        content, viewport = self.overflow()
        return content <= viewport

    def press(self, label_start: str) -> Page:
        """Press the button whose label starts with `label_start`, and wait for the page."""
        wanted = " ".join(label_start.split())  # Babel's no-break spaces as spaces
        for button in self.driver.find_elements(By.TAG_NAME, "button"):
            if " ".join(button.text.split()).startswith(wanted):
                before = self.driver.find_element(By.TAG_NAME, "html")
                button.click()
                WebDriverWait(self.driver, 10).until(staleness_of(before))
                return self
        raise AssertionError(f"no button starting with {label_start!r} in: {self.text}")

    def screenshot(self, path: Path) -> None:
        self.driver.save_screenshot(str(path))


@pytest.fixture
def page(browser: webdriver.Chrome) -> Page:
    return Page(browser)
