"""Pictures in a real browser: choose an image model, draw a grid and see the pictures,
like one and find it (with its PNG bytes) in the model's feedback store, walk round its
latent space and see the GIF, then make a folk take and walk in time with it.

Uses the fixtures and skip rules of ``tests/test_studio_browser.py`` (headless Chromium
through Selenium); screenshots go to the test's tmp folder.
"""

from __future__ import annotations

import pytest

from tests.test_image_tune import image_model

# the fixtures, the skip rules (pytestmark) and Selenium's names, imported only where selenium is
from tests.test_studio_browser import (  # noqa: F401
    WAIT,
    By,
    Select,
    WebDriverWait,
    browser,
    pytestmark,
    ready,
    running_studio,
    screenshooter,
)

#: true once an <img> has loaded, with its natural width
LOADED_WIDTH = "return arguments[0].complete ? arguments[0].naturalWidth : 0"


@pytest.fixture
def pictures_url(tmp_path, monkeypatch):
    """A studio offering ``folk`` and a tiny untrained DCGAN; the DCGAN's folder."""
    monkeypatch.setenv("SEQART_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SEQART_NO_RECORD", raising=False)
    model = image_model(tmp_path / "dcgan", "dcgan")
    with running_studio(["folk", model]) as url:
        yield url, model


def fill(form, **values):
    for name, value in values.items():
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)


def test_draw_pictures_like_one_and_walk_in_a_browser(pictures_url, browser, tmp_path):  # noqa: F811
    from seqart.feedback.store import FeedbackStore

    url, model = pictures_url
    wait = WebDriverWait(browser, WAIT)
    shot = screenshooter(browser, tmp_path / "screenshots")
    browser.get(url)
    wait.until(ready.text_to_be_present_in_element((By.ID, "status"), "Ready"))
    assert not browser.find_element(By.ID, "walk-panel").is_displayed()  # folk is chosen: no pictures

    # the image model: its form asks for pictures and a seed; the grid shows four pictures
    Select(browser.find_element(By.ID, "model")).select_by_visible_text("dcgan (dcgan)")
    assert browser.find_element(By.ID, "generate").text == "Draw pictures"
    assert browser.find_element(By.ID, "walk-panel").is_displayed()
    assert "pictures come closer to the ones you liked" in browser.find_element(By.ID, "tune-note").text
    assert browser.find_element(By.ID, "tune-steps").get_attribute("value") == "200"
    form = browser.find_element(By.ID, "settings")
    fill(form, num="4", seed="3")
    browser.find_element(By.ID, "generate").click()
    tiles = "article.picture-grid figure.picture"
    wait.until(lambda _: len(browser.find_elements(By.CSS_SELECTOR, tiles)) == 4)
    images = browser.find_elements(By.CSS_SELECTOR, f"{tiles} img")
    wait.until(lambda _: all(browser.execute_script(LOADED_WIDTH, image) == 28 for image in images))
    assert "dcgan · 4 pictures · seed 3" in browser.find_element(By.CSS_SELECTOR, "article.picture-grid h3").text
    shot("01-grid", browser.find_element(By.CSS_SELECTOR, "article.picture-grid"))

    # like the second: lit on the page, and kept in the model's store with its PNG
    second = browser.find_elements(By.CSS_SELECTOR, tiles)[1]
    like = second.find_element(By.CSS_SELECTOR, "button.like")
    like.click()
    wait.until(lambda _: "on" in like.get_attribute("class"))
    with FeedbackStore.for_model(model, create=False) as store:
        (liked,) = store.liked()
        assert store.content(liked)[:8] == b"\x89PNG\r\n\x1a\n" and liked.settings["index"] == 2
    shot("02-liked", second)

    # a loop through the latent space: a GIF card
    frames = browser.find_element(By.ID, "walk-frames")
    frames.clear()
    frames.send_keys("8")
    browser.find_element(By.ID, "walk-start").click()
    walks = "article.walk-card img.walk"
    wait.until(lambda _: len(browser.find_elements(By.CSS_SELECTOR, walks)) == 1)
    gif = browser.find_element(By.CSS_SELECTOR, walks)
    wait.until(lambda _: browser.execute_script(LOADED_WIDTH, gif) == 168)
    assert "8 frames" in browser.find_element(By.CSS_SELECTOR, "article.walk-card .meta").text
    shot("03-walk", browser.find_element(By.CSS_SELECTOR, "article.walk-card"))

    # a folk take, then a walk in time with it
    Select(browser.find_element(By.ID, "model")).select_by_visible_text("folk (melody-transformer)")
    fill(form, num="1", bars="2", seed="5")
    browser.find_element(By.ID, "generate").click()
    wait.until(lambda _: len(browser.find_elements(By.CSS_SELECTOR, "article.card[data-take]")) == 1)
    Select(browser.find_element(By.ID, "model")).select_by_visible_text("dcgan (dcgan)")
    choices = Select(browser.find_element(By.ID, "walk-take"))
    choices.select_by_index(1)
    assert choices.first_selected_option.text.startswith("folk · take 1 of 1")
    assert not frames.is_enabled()  # the take sets the frames
    browser.find_element(By.ID, "walk-start").click()
    wait.until(lambda _: len(browser.find_elements(By.CSS_SELECTOR, walks)) == 2)
    newest = browser.find_element(By.CSS_SELECTOR, "article.walk-card")
    assert "in time with folk take 1 of 1, 4 frames a beat" in newest.find_element(By.CSS_SELECTOR, ".meta").text
    assert newest.find_element(By.XPATH, ".//button[text()='Play with the take']").is_displayed()
    shot("04-walk-with-a-take", newest)
