"""seqart studio in two browser windows at once, and its history across launches, in a
real headless browser: two windows on one studio generate at the same time, a like in
one shows in the other's history after a reload, and a click there re-opens the take
(settings in the form, its card); a later launch lists an earlier take that continued
an idea, and one click restores its settings, its idea and its card.

Uses the server, browser and skip rules of :mod:`tests.test_studio_browser`; each
step's screenshot is saved in the test's tmp folder.
"""

from __future__ import annotations

# first: it skips this module too where selenium or chromium is missing
from tests.test_studio_browser import (COUNT_PIXELS, WAIT, browser, idea_midi, pytestmark, running_studio,  # noqa: F401
                                       screenshooter, studio_url)

from selenium.webdriver.common.by import By  # noqa: E402, I001
from selenium.webdriver.support import expected_conditions as ready  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

TAKES = "article.card[data-take]"


def open_page(driver, url: str) -> None:
    driver.get(url)
    WebDriverWait(driver, WAIT).until(ready.text_to_be_present_in_element((By.ID, "status"), "Ready"))


def fill(driver, **values) -> None:
    form = driver.find_element(By.ID, "settings")
    for name, value in values.items():
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(str(value))


def field_value(driver, name: str) -> str:
    return driver.find_element(By.ID, "settings").find_element(By.NAME, name).get_attribute("value")


def history_item(driver, take_id: str):
    return driver.find_element(By.CSS_SELECTOR, f"#history li[data-take='{take_id}']")


def test_two_windows_at_once_share_takes_and_ratings(studio_url, browser, tmp_path):
    wait = WebDriverWait(browser, WAIT)
    shot = screenshooter(browser, tmp_path / "screenshots")
    open_page(browser, studio_url)
    first = browser.current_window_handle
    browser.switch_to.new_window("window")
    second = browser.current_window_handle
    open_page(browser, studio_url)

    # both generate at once: the first window's request is still running when the second's starts
    browser.switch_to.window(first)
    fill(browser, num=2, bars=8, seed=1)
    browser.find_element(By.ID, "generate").click()
    browser.switch_to.window(second)
    fill(browser, num=2, bars=8, seed=2)
    browser.find_element(By.ID, "generate").click()
    wait.until(lambda driver: len(driver.find_elements(By.CSS_SELECTOR, TAKES)) == 2)
    browser.switch_to.window(first)
    wait.until(lambda driver: len(driver.find_elements(By.CSS_SELECTOR, TAKES)) == 2)

    # like a take in the first window
    liked = browser.find_elements(By.CSS_SELECTOR, TAKES)[0]
    liked_id = liked.get_attribute("data-take")
    liked.find_element(By.CSS_SELECTOR, "button.like").click()
    wait.until(lambda _: "on" in liked.find_element(By.CSS_SELECTOR, "button.like").get_attribute("class"))
    shot("01-first-window-liked", liked)

    # the second window, reloaded, lists all four takes and the like
    browser.switch_to.window(second)
    open_page(browser, studio_url)
    wait.until(lambda driver: len(driver.find_elements(By.CSS_SELECTOR, "#history li")) == 4)
    item = history_item(browser, liked_id)
    assert item.find_element(By.CSS_SELECTOR, ".rating").text == "like"
    assert "seed 1" in item.text
    shot("02-second-window-history", browser.find_element(By.ID, "history"))

    # one click there: the take's settings in the form, its card shown in this window too
    assert not browser.find_elements(By.CSS_SELECTOR, f"article[data-take='{liked_id}']")
    item.find_element(By.TAG_NAME, "button").click()
    wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, f"article[data-take='{liked_id}']")))
    wait.until(ready.text_to_be_present_in_element((By.ID, "status"), "back in the form"))
    assert (field_value(browser, "seed"), field_value(browser, "bars"), field_value(browser, "num")) == ("1", "8", "2")
    card = browser.find_element(By.CSS_SELECTOR, f"article[data-take='{liked_id}']")
    assert "on" in card.find_element(By.CSS_SELECTOR, "button.like").get_attribute("class")
    shot("03-second-window-reopened", card)


def test_a_later_launch_reopens_an_earlier_take_with_its_idea(browser, tmp_path, monkeypatch):
    monkeypatch.setenv("SEQART_DATA_DIR", str(tmp_path / "data"))
    wait = WebDriverWait(browser, WAIT)
    shot = screenshooter(browser, tmp_path / "screenshots")
    with running_studio(["folk"]) as url:  # the first launch: continue an idea's melody
        open_page(browser, url)
        browser.find_element(By.ID, "idea-file").send_keys(str(idea_midi(tmp_path / "idea.mid")))
        wait.until(ready.visibility_of_element_located((By.ID, "idea-card")))
        Select(browser.find_element(By.ID, "idea-track")).select_by_value("1")
        fill(browser, num=1, bars=2, seed=7)
        browser.find_element(By.ID, "generate").click()
        wait.until(lambda driver: len(driver.find_elements(By.CSS_SELECTOR, TAKES)) == 1)

    with running_studio(["folk"]) as url:  # a later launch: a fresh page, a fresh session
        open_page(browser, url)
        wait.until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#history li.earlier"))
        (item,) = browser.find_elements(By.CSS_SELECTOR, "#history li")
        assert "continues idea.mid" in item.text and "seed 7" in item.text
        assert not browser.find_element(By.ID, "history-note").is_displayed()  # recording is on
        assert browser.find_element(By.ID, "idea-card").is_displayed() is False
        shot("01-later-launch-history", browser.find_element(By.ID, "history"))

        item.find_element(By.TAG_NAME, "button").click()
        wait.until(ready.text_to_be_present_in_element((By.ID, "status"), "with its idea idea.mid"))
        assert (field_value(browser, "seed"), field_value(browser, "bars"), field_value(browser, "num")) == ("7", "2", "1")
        assert browser.find_element(By.ID, "idea-card").is_displayed()
        assert Select(browser.find_element(By.ID, "idea-track")).first_selected_option.get_attribute("value") == "1"
        assert browser.find_element(By.ID, "generate").text == "Continue my idea"
        (card,) = browser.find_elements(By.CSS_SELECTOR, TAKES)
        assert "folk · earlier take 1 of 1 · continues idea.mid" in card.text
        blue, _, _ = browser.execute_script(COUNT_PIXELS, card.find_element(By.CSS_SELECTOR, "canvas"))
        assert blue > 200, "an empty piano roll"
        shot("02-earlier-take-reopened")
