"""TensorBoard in a real headless browser: the run's scalar charts and images render.

Starts ``tensorboard --logdir`` on localhost and drives Debian's chromium with the PyPI
``playwright`` package (the recipe: never ``playwright install``). The screenshot
is kept in the test's temporary directory.
"""

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def browser():
    """Headless chromium through playwright (CI installs both; locally a skip says why)."""
    if not os.path.exists(CHROMIUM) and not os.environ.get("CI"):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright  # the dev extra

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def tensorboard(digits_run):
    """``tensorboard --logdir <the session's runs> --host 127.0.0.1`` on a free port; its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tensorboard.main", "--logdir", str(digits_run.parent),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/data/runs", timeout=5).read()
            break
        except OSError:
            assert process.poll() is None, "tensorboard exited"
            time.sleep(0.5)
    yield url
    process.terminate()
    process.wait(timeout=30)


def coloured_pixels(png: bytes) -> int:
    """Pixels of a screenshot that are clearly coloured (a run's line, not grey axes/grid)."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return int(((rgb.max(axis=2) - rgb.min(axis=2)) > 60).sum())


def show_tags(page, pattern: str) -> None:
    """Type a regex into the time-series tag filter (cards render only when on screen)."""
    page.fill("input[placeholder='Filter tags (regex)']", pattern)


def test_timeseries_shows_the_run_its_charts_and_images(browser, tensorboard, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{tensorboard}/#timeseries", wait_until="networkidle")
    page.wait_for_selector("text=digits/tensorboard/train", timeout=60_000)
    text = page.inner_text("body")
    assert "digits/tensorboard/validation" in text and "digits/tensorboard/evaluation" in text

    show_tags(page, "^epoch_accuracy$")  # the learning curve: train and validation
    chart = page.locator("scalar-card", has_text="epoch_accuracy").first.locator("line-chart")
    chart.first.wait_for(timeout=60_000)
    deadline = time.time() + 60
    while coloured_pixels(chart.first.screenshot()) < 50 and time.time() < deadline:
        page.wait_for_timeout(500)  # the lines are drawn on a canvas once the data arrives
    assert coloured_pixels(chart.first.screenshot()) >= 50
    page.screenshot(path=str(tmp_path / "timeseries.png"))

    show_tags(page, "plots/confusion_matrix_test")
    image = page.locator("img[src*='imageData']").first
    image.wait_for(timeout=60_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=image.element_handle(), timeout=60_000)
    assert image.evaluate("img => img.naturalWidth") > 300
    page.screenshot(path=str(tmp_path / "images.png"))
    assert (tmp_path / "timeseries.png").stat().st_size > 10_000
