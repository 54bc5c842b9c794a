"""Blend and vary in a real browser: make two folk takes, blend one into the other from
its card and see the strip's cards, then move a strip take with an attribute slider.

Uses the fixtures and skip rules of ``tests/test_studio_browser.py`` (headless Chromium
through Selenium); screenshots go to the test's tmp folder.
"""

from __future__ import annotations

# the fixtures, the skip rules (pytestmark) and Selenium's names, imported only where selenium is
from tests.test_studio_browser import (  # noqa: F401
    COUNT_PIXELS,
    WAIT,
    By,
    Select,
    WebDriverWait,
    browser,
    pytestmark,
    ready,
    screenshooter,
    studio_url,
)

STRIP_CARDS = "section.strip article.card[data-take]"
# Moves a range input to a value as a person letting go of it would (input, then change).
MOVE_SLIDER = """
const slider = arguments[0];
slider.value = arguments[1];
slider.dispatchEvent(new Event("input"));
slider.dispatchEvent(new Event("change"));
"""


def test_blend_two_takes_into_a_strip_and_move_one_in_a_browser(studio_url, browser, tmp_path):  # noqa: F811
    wait = WebDriverWait(browser, WAIT)
    shot = screenshooter(browser, tmp_path / "screenshots")
    browser.get(studio_url)
    wait.until(ready.text_to_be_present_in_element((By.ID, "status"), "Ready"))
    wait.until(ready.text_to_be_present_in_element((By.ID, "latent-note"), "folk-vae-2bar reads"))

    # two takes of two bars in 4/4: the model's own span
    form = browser.find_element(By.ID, "settings")
    for name, value in (("num", "2"), ("bars", "2"), ("seed", "3")):
        form.find_element(By.NAME, name).clear()
        form.find_element(By.NAME, name).send_keys(value)
    Select(form.find_element(By.NAME, "time_signature")).select_by_value("4/4")
    browser.find_element(By.ID, "generate").click()
    wait.until(lambda _: len(browser.find_elements(By.CSS_SELECTOR, "article.card[data-take]")) == 2)
    first, second = browser.find_elements(By.CSS_SELECTOR, "article.card[data-take]")

    # blend the first into the second, four steps: a strip of four cards, ends included
    steps = browser.find_element(By.ID, "blend-steps")
    steps.clear()
    steps.send_keys("4")
    choice = Select(first.find_element(By.CSS_SELECTOR, "select.blend-with"))
    assert [o.get_attribute("value") for o in choice.options] == ["", second.get_attribute("data-take")]
    choice.select_by_value(second.get_attribute("data-take"))
    wait.until(lambda _: len(browser.find_elements(By.CSS_SELECTOR, STRIP_CARDS)) == 4)
    strip = browser.find_element(By.CSS_SELECTOR, "section.strip")
    assert strip.find_element(By.CSS_SELECTOR, ".strip-title").text.startswith("blend from folk · take 1 of 2")
    cards = strip.find_elements(By.CSS_SELECTOR, "article.card[data-take]")
    assert [c.find_element(By.CSS_SELECTOR, "h3").text.split(" (")[0] for c in cards] == [
        f"folk-vae-2bar · blend {i} of 4" for i in range(1, 5)]
    for card in cards:
        blue, _, _ = browser.execute_script(COUNT_PIXELS, card.find_element(By.CSS_SELECTOR, "canvas"))
        assert blue > 100, "an empty piano roll in the strip"
        assert card.find_element(By.CSS_SELECTOR, "button.like").is_displayed()  # rated like any take
    assert "4 new takes" in browser.find_element(By.ID, "status").text
    shot("01-blend-strip", strip)

    # the sliders: choose a strip take, push it towards more notes
    cards[1].find_element(By.CSS_SELECTOR, "button.sliders").click()
    wait.until(ready.visibility_of_element_located((By.ID, "shift-panel")))
    sliders = browser.find_elements(By.CSS_SELECTOR, "#shift-sliders input[type=range]")
    assert {s.get_attribute("name") for s in sliders} >= {"density", "range", "register"}
    shot("02-sliders", browser.find_element(By.ID, "latent-panel"))
    density = browser.find_element(By.CSS_SELECTOR, "#shift-sliders input[name=density]")
    browser.execute_script(MOVE_SLIDER, density, "1")
    moved = "//section[contains(@class, 'strip')][.//h3[contains(., 'density +1.0')]]"
    wait.until(lambda _: browser.find_elements(By.XPATH, moved))
    assert len(browser.find_elements(By.CSS_SELECTOR, STRIP_CARDS)) == 5
    shot("03-shifted")
