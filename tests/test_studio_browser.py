"""seqart studio in a real browser, used as a person would: generate four takes and see
four piano rolls, play one and watch the playhead, like one and find the rating in the
feedback store, upload a MIDI idea and have it continued; like and dislike takes of a
tiny model, tune it on them from the page, watch the progress bar fill and generate
with the tuned model.

Runs headless Chromium through Selenium (Debian: ``apt-get install chromium
chromium-driver``; ``pip install selenium``, in the dev extra) and skips when either is
missing. Each step's screenshot is saved in the test's tmp folder; with
``SEQART_UPDATE_SCREENSHOT=1`` the last one also replaces ``docs/studio.png``, the
README's picture (a plain run never touches the checkout).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from seqart.score import Note, Score, TempoChange, TimeSignature, Track
from tests.train_fixtures import tiny_corpus, tiny_run  # noqa: F401

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


@contextlib.contextmanager
def running_studio(models):
    """A real studio (uvicorn in a thread) on a free port, offering ``models``; its token URL."""
    import uvicorn

    from seqart.studio.app import create_app
    from seqart.studio.security import allowed_hosts_for, new_token
    from seqart.studio.server import SHUTDOWN_WAIT, bind, page_url

    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    token = new_token()
    app = create_app(models, token, allowed_hosts_for("127.0.0.1", port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off",
                                           timeout_graceful_shutdown=SHUTDOWN_WAIT))
    app.state.stopping = lambda: server.should_exit
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the studio did not start"
    try:
        yield page_url("127.0.0.1", port, token)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        app.state.session.jobs.stop_all()


@pytest.fixture
def studio_url(tmp_path, monkeypatch):
    """A studio offering ``folk``."""
    monkeypatch.setenv("SEQART_DATA_DIR", str(tmp_path / "data"))
    with running_studio(["folk"]) as url:
        yield url


@pytest.fixture
def tiny_studio_url(tiny_run, tmp_path, monkeypatch):
    """A studio offering a private copy of the tiny trained melody-lstm (fast to tune)."""
    monkeypatch.setenv("SEQART_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SEQART_CACHE_DIR", str(tmp_path / "cache"))
    with running_studio([shutil.copytree(tiny_run / "model", tmp_path / "tiny")]) as url:
        yield url


def start_chromium(extra_arguments=()):
    """Headless Chromium under Selenium, with ``extra_arguments`` (command-line flags, such as
    a fake microphone's) after the usual ones; the caller quits it."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--autoplay-policy=no-user-gesture-required", "--window-size=1280,1100",
                     "--force-device-scale-factor=1", "--lang=en-US", *extra_arguments):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_script_timeout(WAIT)
    return driver


@pytest.fixture
def browser():
    driver = start_chromium()
    yield driver
    driver.quit()


def idea_midi(path: Path) -> Path:
    """A two-track idea, one 4/4 bar: a G-major melody over a bass."""
    melody = Track([Note(67, 0.0, 1.0, 96), Note(71, 1.0, 0.5, 90), Note(74, 1.5, 0.5, 90), Note(72, 2.0, 1.0, 92),
                    Note(71, 3.0, 1.0, 88)], name="Melody")
    bass = Track([Note(43, 0.0, 2.0, 70), Note(50, 2.0, 2.0, 70)], program=32, name="Bass")
    score = Score(tracks=[melody, bass], tempos=[TempoChange(0.0, 110.0)], time_signatures=[TimeSignature(0.0, 4, 4)])
    return score.write(path)


def screenshooter(browser, folder: Path):
    """``shot(name, showing=None)``: save a screenshot in ``folder`` with ``showing`` (an
    element; None: the top of the page) in view."""
    folder.mkdir()

    def shot(name: str, showing=None) -> Path:
        if showing is None:
            browser.execute_script("window.scrollTo(0, 0)")
        else:
            browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", showing)
        path = folder / f"{name}.png"
        assert browser.save_screenshot(str(path))
        return path

    return shot


def test_the_composers_loop_in_a_browser(studio_url, browser, tmp_path):
    from seqart.feedback.store import FeedbackStore

    wait = WebDriverWait(browser, WAIT)
    shot = screenshooter(browser, tmp_path / "screenshots")

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


# Records every value the tune's progress bar shows (set as its ``value`` attribute).
WATCH_PROGRESS = """
window.seenProgress = [];
new MutationObserver(() => window.seenProgress.push(Number(document.getElementById("tune-progress").value)))
  .observe(document.getElementById("tune-progress"), { attributes: true, attributeFilter: ["value"] });
"""


def test_tune_on_my_ratings_in_a_browser(tiny_studio_url, browser, tmp_path):
    wait = WebDriverWait(browser, WAIT)
    shot = screenshooter(browser, tmp_path / "screenshots")
    browser.get(tiny_studio_url)
    wait.until(ready.text_to_be_present_in_element((By.ID, "status"), "Ready"))
    assert "Makes a new model from tiny" in browser.find_element(By.ID, "tune-note").text

    # four takes: like two, dislike two
    form = browser.find_element(By.ID, "settings")
    for name, value in (("num", "4"), ("bars", "4"), ("seed", "3")):
        form.find_element(By.NAME, name).clear()
        form.find_element(By.NAME, name).send_keys(value)
    browser.find_element(By.ID, "generate").click()
    wait.until(lambda _: len(browser.find_elements(By.CSS_SELECTOR, "article.card[data-take]")) == 4)
    for card, button in zip(browser.find_elements(By.CSS_SELECTOR, "article.card[data-take]"),
                            ("like", "like", "dislike", "dislike")):
        rated = card.find_element(By.CSS_SELECTOR, f"button.{button}")
        rated.click()
        wait.until(lambda _, rated=rated: "on" in rated.get_attribute("class"))

    # tune 40 steps: the bar fills as the events come, the tuned model joins the picker
    steps = browser.find_element(By.ID, "tune-steps")
    assert steps.get_attribute("value") == "60"  # the workflow's default
    steps.clear()
    steps.send_keys("40")
    browser.execute_script(WATCH_PROGRESS)
    browser.find_element(By.ID, "tune-start").click()
    wait.until(ready.visibility_of_element_located((By.ID, "tune-cancel")))
    shot("01-tuning", browser.find_element(By.ID, "tune-panel"))
    wait.until(ready.visibility_of_element_located((By.ID, "tune-figures")))
    bar = browser.find_element(By.ID, "tune-progress")
    assert bar.get_attribute("max") == "40" and bar.get_attribute("value") == "40"
    seen = browser.execute_script("return window.seenProgress")
    assert any(0 < value < 40 for value in seen), f"no step between start and end: {seen}"
    assert "done in 40 steps → tiny-tuned-1" in browser.find_element(By.ID, "tune-phase").text
    assert not browser.find_element(By.ID, "tune-cancel").is_displayed()
    rows = browser.find_elements(By.CSS_SELECTOR, "#tune-figures tbody tr")
    assert len(rows) == 2 and rows[0].text.startswith("liked takes") and "%" in rows[0].text  # 2 liked: none held out
    picker = [o.text for o in Select(browser.find_element(By.ID, "model")).options]
    assert picker == ["tiny (melody-lstm)", "tiny-tuned-1 (melody-lstm)"]
    browser.find_element(By.CSS_SELECTOR, "#tune-report summary").click()
    assert "nats/token" in browser.find_element(By.ID, "tune-lines").text
    shot("02-tuned", browser.find_element(By.ID, "tune-panel"))

    # generate with it
    browser.find_element(By.ID, "tune-use").click()
    assert Select(browser.find_element(By.ID, "model")).first_selected_option.text == "tiny-tuned-1 (melody-lstm)"
    browser.find_element(By.ID, "generate").click()
    tuned = "//article[@data-take][.//h3[contains(., 'tiny-tuned-1 · take')]]"  # not the "blend with…" choices
    wait.until(lambda _: len(browser.find_elements(By.XPATH, tuned)) == 4)  # the settings stayed: 4 takes
    assert all("4 bars · seed 3" in card.text for card in browser.find_elements(By.XPATH, tuned))
    shot("03-generated-with-the-tuned-model")


def _save_for_docs(screenshot: Path) -> None:
    """Copy the last screenshot to docs/studio.png, as a palette PNG if it is too large."""
    from PIL import Image

    DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(screenshot, DOCS_SCREENSHOT)
    if DOCS_SCREENSHOT.stat().st_size > MAX_SCREENSHOT:
        with Image.open(screenshot) as image:
            image.convert("RGB").quantize(colors=128).save(DOCS_SCREENSHOT, optimize=True)
    assert DOCS_SCREENSHOT.stat().st_size <= MAX_SCREENSHOT
