"""seqart studio in a real browser, used as a person would: generate four takes and see
four piano rolls, play one and watch the playhead, like one and find the rating in the
feedback store, upload a MIDI idea and have it continued.

Runs headless Chromium through Selenium (Debian: ``apt-get install chromium
chromium-driver``; ``pip install selenium``, in the dev extra) and skips when either is
missing. Each step's screenshot is saved in the test's tmp folder; with
``SEQART_UPDATE_SCREENSHOT=1`` the last one also replaces ``docs/studio.png``, the
README's picture (a plain run never touches the checkout).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from seqart.score import Note, Score, TempoChange, TimeSignature, Track

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
DOCS_SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "studio.png"
#: largest docs/studio.png, in bytes
MAX_SCREENSHOT = 300_000
WAIT = 30  # seconds any one step may take

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
pytestmark = pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                                reason="chromium and chromedriver are not installed "
                                       "(apt-get install chromium chromium-driver)")

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ready  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

# Counts a canvas's pixels by colour: [blue notes, amber notes, playhead] (see studio.js).
COUNT_PIXELS = """
const canvas = arguments[0];
const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
let blue = 0, amber = 0, playhead = 0;
for (let i = 0; i < data.length; i += 4) {
  const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
  if (b > r + 60 && b > g + 20) blue += 1;
  else if (r > b + 80 && g > b + 20) amber += 1;
  else if (r > 200 && g < 80 && b > 90 && b < 130) playhead += 1;
}
return [blue, amber, playhead];
"""
# The leftmost column of the playhead's colour on a canvas's middle row (-1: none).
PLAYHEAD_X = """
const canvas = arguments[0];
const data = canvas.getContext("2d").getImageData(0, Math.floor(canvas.height / 2), canvas.width, 1).data;
for (let x = 0; x < canvas.width; x += 1) {
  const [r, g, b] = [data[4 * x], data[4 * x + 1], data[4 * x + 2]];
  if (r > 200 && g < 80 && b > 90 && b < 130) return x;
}
return -1;
"""


@pytest.fixture
def studio_url(tmp_path, monkeypatch):
    """A real studio (uvicorn in a thread) on a free port, offering ``folk``; its token URL."""
    import uvicorn

    from seqart.studio.app import create_app
    from seqart.studio.security import allowed_hosts_for, new_token
    from seqart.studio.server import bind, page_url

    monkeypatch.setenv("SEQART_DATA_DIR", str(tmp_path / "data"))
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    token = new_token()
    app = create_app(["folk"], token, allowed_hosts_for("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the studio did not start"
    yield page_url("127.0.0.1", port, token)
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--autoplay-policy=no-user-gesture-required", "--window-size=1280,1100",
                     "--force-device-scale-factor=1", "--lang=en-US"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_script_timeout(WAIT)
    yield driver
    driver.quit()


def idea_midi(path: Path) -> Path:
    """A two-track idea, one 4/4 bar: a G-major melody over a bass."""
    melody = Track([Note(67, 0.0, 1.0, 96), Note(71, 1.0, 0.5, 90), Note(74, 1.5, 0.5, 90), Note(72, 2.0, 1.0, 92),
                    Note(71, 3.0, 1.0, 88)], name="Melody")
    bass = Track([Note(43, 0.0, 2.0, 70), Note(50, 2.0, 2.0, 70)], program=32, name="Bass")
    score = Score(tracks=[melody, bass], tempos=[TempoChange(0.0, 110.0)], time_signatures=[TimeSignature(0.0, 4, 4)])
    return score.write(path)


def test_the_composers_loop_in_a_browser(studio_url, browser, tmp_path):
    from seqart.feedback.store import FeedbackStore

    wait = WebDriverWait(browser, WAIT)
    shots = tmp_path / "screenshots"
    shots.mkdir()

    def shot(name: str, showing=None) -> Path:
        """Save a screenshot with ``showing`` (an element; None: the top of the page) in view."""
        if showing is None:
            browser.execute_script("window.scrollTo(0, 0)")
        else:
            browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", showing)
        path = shots / f"{name}.png"
        assert browser.save_screenshot(str(path))
        return path

    def cards(css: str = "article.card[data-take]"):
        return browser.find_elements(By.CSS_SELECTOR, css)

    browser.get(studio_url)
    wait.until(ready.text_to_be_present_in_element((By.ID, "status"), "Ready"))
    assert "token" not in browser.current_url  # traded for the cookie

    # generate four takes: four piano rolls with notes on them
    form = browser.find_element(By.ID, "settings")
    for name, value in (("num", "4"), ("bars", "4"), ("seed", "3")):
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    browser.find_element(By.ID, "generate").click()
    wait.until(lambda _: len(cards()) == 4)
    for card in cards():
        blue, _, _ = browser.execute_script(COUNT_PIXELS, card.find_element(By.CSS_SELECTOR, "canvas"))
        assert blue > 200, "an empty piano roll"
    shot("01-four-takes", cards()[0])

    # play one: the audio runs and the playhead moves across the roll
    first = cards()[0]
    canvas = first.find_element(By.CSS_SELECTOR, "canvas")
    first.find_element(By.XPATH, ".//button[text()='Play']").click()
    audio = first.find_element(By.CSS_SELECTOR, "audio")
    wait.until(lambda _: browser.execute_script("return arguments[0].currentTime", audio) > 0.3)
    earlier = browser.execute_script(PLAYHEAD_X, canvas)
    wait.until(lambda _: browser.execute_script(PLAYHEAD_X, canvas) > earlier >= 0)
    shot("02-playing", first)
    first.find_element(By.XPATH, ".//button[text()='Pause']").click()

    # like it: the rating is in the model's feedback store
    first.find_element(By.CSS_SELECTOR, "button.like").click()
    wait.until(lambda _: "on" in first.find_element(By.CSS_SELECTOR, "button.like").get_attribute("class"))
    with FeedbackStore.for_model("folk", create=False) as store:
        liked = [s for s in store.samples() if s.rating == 1]
    assert [Path(s.path).stem for s in liked] == [first.get_attribute("data-take")]
    shot("03-liked", first)

    # continue my idea: upload a MIDI file, choose its melody, continue it
    browser.find_element(By.ID, "idea-file").send_keys(str(idea_midi(tmp_path / "idea.mid")))
    wait.until(ready.visibility_of_element_located((By.ID, "idea-card")))
    assert "top voice of 2 tracks" in browser.find_element(By.ID, "idea-notice").text
    Select(browser.find_element(By.ID, "idea-track")).select_by_value("1")
    assert browser.find_element(By.ID, "idea-notice").text == "continuing track 1 (Melody)"
    _, amber, _ = browser.execute_script(COUNT_PIXELS, browser.find_element(By.ID, "idea-roll"))
    assert amber > 200, "the idea's roll is empty"
    shot("04-idea")
    browser.find_element(By.ID, "generate").click()
    continued = "article.card[data-take]"
    wait.until(lambda _: sum("continues idea.mid" in c.text for c in cards(continued)) == 4)
    for card in cards(continued)[:4]:
        blue, amber, _ = browser.execute_script(COUNT_PIXELS, card.find_element(By.CSS_SELECTOR, "canvas"))
        assert amber > 100 and blue > 100, "a continuation without the idea or without new notes"
    final = shot("05-continued")

    if os.environ.get("SEQART_UPDATE_SCREENSHOT") == "1":
        _save_for_docs(final)


def _save_for_docs(screenshot: Path) -> None:
    """Copy the last screenshot to docs/studio.png, as a palette PNG if it is too large."""
    from PIL import Image

    DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(screenshot, DOCS_SCREENSHOT)
    if DOCS_SCREENSHOT.stat().st_size > MAX_SCREENSHOT:
        with Image.open(screenshot) as image:
            image.convert("RGB").quantize(colors=128).save(DOCS_SCREENSHOT, optimize=True)
    assert DOCS_SCREENSHOT.stat().st_size <= MAX_SCREENSHOT
