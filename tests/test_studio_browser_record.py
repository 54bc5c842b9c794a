"""Continue my idea from the microphone: in a real browser, Record a phrase (Chromium's
fake microphone plays a WAV file the test writes), Stop, see the transcribed idea's card
and continue it; a denied or missing microphone gets one line; the page's WAV encoder
writes the bytes this file writes in Python. Through the API: a WAV as the page encodes
it is transcribed, a cut or garbled one is refused with one line (400).

The browser tests use the fixtures and skip rules of ``tests/test_studio_browser.py``
(headless Chromium through Selenium); the API tests run without a browser.
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from seqart.studio.uploads import MAX_UPLOAD
from tests.test_studio_primers import data_dir, studio, upload  # noqa: F401

try:  # the fixtures, the skip rules and Selenium's names, where selenium is installed
    from tests.test_studio_browser import (  # noqa: F401
        COUNT_PIXELS,
        WAIT,
        By,
        WebDriverWait,
        browser,
        ready,
        screenshooter,
        start_chromium,
        studio_url,
    )
    from tests.test_studio_browser import pytestmark as browser_test
except pytest.skip.Exception as missing:  # no selenium: the API tests still run
    browser_test = pytest.mark.skip(reason=str(missing))

#: sample rate of the test's recordings, Hz
RATE = 48000
#: the phrase sung into the fake microphone: MIDI pitches, each NOTE_SECONDS long, then GAP_SECONDS of silence
PHRASE = [60, 64, 67, 72]
NOTE_SECONDS, GAP_SECONDS = 0.45, 0.05
#: seconds the browser test records (the fake microphone plays the phrase over and over)
RECORD_SECONDS = 2.5
#: seconds a transcription may take (a child process that loads librosa, on a busy CPU)
TRANSCRIBE_WAIT = 120
WAV_HEADER = struct.Struct("<4sI4s4sIHHIIHH4sI")  # RIFF, fmt (PCM, 16 bytes) and data chunk heads: 44 bytes


def wav_bytes(samples: np.ndarray, sample_rate: int = RATE) -> bytes:
    """A WAV file as record.js's ``encodeWav`` writes it: a 44-byte RIFF/WAVE header, PCM
    16-bit little-endian, one channel; ``samples`` (shape ``(n,)``, in [-1, 1], clipped
    beyond) scaled by 32768 below zero and 32767 above, rounded."""
    clipped = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0)
    data = np.round(np.where(clipped < 0, clipped * 32768, clipped * 32767)).astype("<i2").tobytes()
    head = WAV_HEADER.pack(b"RIFF", WAV_HEADER.size - 8 + len(data), b"WAVE", b"fmt ", 16, 1, 1,
                           sample_rate, 2 * sample_rate, 2, 16, b"data", len(data))
    return head + data


def sung_phrase(sample_rate: int = RATE) -> np.ndarray:
    """:data:`PHRASE` as a voice-like tone (a fundamental and two overtones, soft attack and
    release), each note :data:`NOTE_SECONDS` then :data:`GAP_SECONDS` of silence; shape
    ``(n,)``, peak about 0.4."""
    parts = []
    for pitch in PHRASE:
        hz = 440.0 * 2 ** ((pitch - 69) / 12)
        t = np.arange(int(NOTE_SECONDS * sample_rate)) / sample_rate  # (n,) seconds
        tone = sum(amp * np.sin(2 * np.pi * k * hz * t) for k, amp in ((1, 1.0), (2, 0.5), (3, 0.25)))
        envelope = np.minimum(1.0, t / 0.02) * np.minimum(1.0, (NOTE_SECONDS - t) / 0.05)
        parts += [0.4 / 1.75 * tone * envelope, np.zeros(int(GAP_SECONDS * sample_rate))]
    return np.concatenate(parts)


# ---------------------------------------------------------------- the API
def test_a_wav_as_the_page_encodes_it_is_transcribed(studio):  # noqa: F811
    idea = upload(studio, "recording.wav", wav_bytes(sung_phrase()))
    assert idea["name"] == "recording.wav" and idea["kind"] == "audio" and idea["transcribed"] is True
    assert [n[0] for n in idea["notes"]] == PHRASE


@pytest.mark.parametrize("cut, reason", [
    (lambda wav: wav[:WAV_HEADER.size + 200], "audio is empty or shorter than 0.1 s"),  # 100 samples, 2 ms
    (lambda wav: wav[:30], "not readable as audio"),  # the header cut short
    (lambda wav: wav[:12] + np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes(),
     "not readable as audio"),  # RIFF/WAVE, then noise for chunks
])
def test_a_cut_or_garbled_wav_is_refused_with_one_line(studio, cut, reason):  # noqa: F811
    answer = upload(studio, "recording.wav", cut(wav_bytes(sung_phrase())), expect=400)
    assert answer["error"].startswith(f"recording.wav: {reason}") and "\n" not in answer["error"]
    assert studio.get("/api/models").status_code == 200  # the studio goes on


# ------------------------------------------------------------ the browser
# record.js's encoder run on the page: the bytes of the WAV file, as a list of numbers.
ENCODE_ON_PAGE = """
const bytes = new Uint8Array(window.seqartRecord.encodeWav(new Float32Array(arguments[0]), arguments[1]));
return Array.from(bytes);
"""
# Every request the page has made, that is not to its own origin.
REQUESTS_ELSEWHERE = """
return performance.getEntriesByType("resource").map((entry) => entry.name)
  .filter((url) => !url.startsWith(location.origin + "/"));
"""
# Makes getUserMedia fail as a browser does: a DOMException of the name given.
MICROPHONE_FAILS = """
navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("refused", arguments[0]));
"""

# The sample rate (Hz) of an audio context as the page makes one: the rate it records at.
SAMPLE_RATE = """
const context = new AudioContext();
const rate = context.sampleRate;
context.close();
return rate;
"""


def longest_recording(sample_rate: int) -> str:
    """The longest recording at ``sample_rate`` Hz as the page shows it ("0:54"): its WAV file
    within the upload limit, and a minute at most."""
    seconds = min((MAX_UPLOAD - WAV_HEADER.size) // 2, 60 * sample_rate) // sample_rate
    return f"{seconds // 60}:{seconds % 60:02d}"


@pytest.fixture
def microphone_browser(tmp_path):
    """Headless Chromium whose microphone plays :func:`sung_phrase` over and over, allowed
    without asking."""
    sung = tmp_path / "sung.wav"
    sung.write_bytes(wav_bytes(sung_phrase()))
    driver = start_chromium(("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                             f"--use-file-for-fake-audio-capture={sung}"))
    yield driver
    driver.quit()


@browser_test
def test_the_pages_wav_encoder_writes_the_bytes_python_writes(studio_url, browser):
    browser.get(studio_url)
    WebDriverWait(browser, WAIT).until(ready.text_to_be_present_in_element((By.ID, "status"), "Ready"))
    samples = [0.0, 0.5, -0.5, 1.0, -1.0, 1.7, -3.0, 0.25, -0.000_01, 0.333]
    for rate in (44100, 48000):
        assert bytes(browser.execute_script(ENCODE_ON_PAGE, samples, rate)) == wav_bytes(np.float32(samples), rate)
    for rate in (44100, 48000, 192000):  # the longest recording's file is within the upload limit
        longest = browser.execute_script("return window.seqartRecord.maxSamples(arguments[0])", rate)
        assert WAV_HEADER.size + 2 * longest <= MAX_UPLOAD
    assert browser.execute_script("return window.seqartRecord.maxSamples(48000)") == (MAX_UPLOAD - 44) // 2


@browser_test
def test_record_an_idea_from_the_microphone_and_continue_it(studio_url, microphone_browser, tmp_path):
    browser = microphone_browser
    wait = WebDriverWait(browser, WAIT)
    shot = screenshooter(browser, tmp_path / "screenshots")
    browser.get(studio_url)
    wait.until(ready.text_to_be_present_in_element((By.ID, "status"), "Ready"))

    # Record: the button turns into Stop, the level meter moves, the time runs
    record = browser.find_element(By.ID, "record")
    record.click()
    wait.until(lambda _: record.text == "Stop")
    longest = longest_recording(browser.execute_script(SAMPLE_RATE))  # "0:54" at 48 kHz, "0:59" at 44.1 kHz
    assert f"Recording (at most {longest})" in browser.find_element(By.ID, "status").text
    level, elapsed = browser.find_element(By.ID, "record-level"), browser.find_element(By.ID, "record-time")
    wait.until(lambda _: float(level.get_attribute("value")) > 0.3)
    wait.until(lambda _: elapsed.text.startswith("0:02"))
    assert elapsed.text == f"0:02 of {longest}"
    shot("01-recording", browser.find_element(By.ID, "idea-panel"))
    record.click()

    # Stop: the recording is transcribed, the idea's card appears as for an uploaded file
    WebDriverWait(browser, TRANSCRIBE_WAIT).until(ready.visibility_of_element_located((By.ID, "idea-card")))
    assert record.text == "Record" and record.is_enabled() and not level.is_displayed()
    assert browser.find_element(By.ID, "idea-card-title").text == "Your idea: recording.wav"
    name = browser.find_element(By.ID, "idea-name").text
    assert name.startswith("recording.wav (transcribed) · ")
    assert int(name.split("· ")[1].split()[0]) >= len(PHRASE), name  # 2.5 s: the phrase at least once
    _, amber, _ = browser.execute_script(COUNT_PIXELS, browser.find_element(By.ID, "idea-roll"))
    assert amber > 100, "the transcribed idea's roll is empty"
    shot("02-transcribed")

    # continue it: takes that start with the idea
    bars = browser.find_element(By.ID, "settings").find_element(By.NAME, "bars")
    bars.clear()
    bars.send_keys("2")
    browser.find_element(By.ID, "generate").click()
    wait.until(lambda _: any("continues recording.wav" in card.text
                             for card in browser.find_elements(By.CSS_SELECTOR, "article.card[data-take]")))
    card = browser.find_element(By.CSS_SELECTOR, "article.card[data-take]")
    blue, amber, _ = browser.execute_script(COUNT_PIXELS, card.find_element(By.CSS_SELECTOR, "canvas"))
    assert amber > 100 and blue > 100, "a continuation without the idea or without new notes"
    shot("03-continued")
    assert browser.execute_script(REQUESTS_ELSEWHERE) == []  # the recording went only to the studio


@browser_test
@pytest.mark.parametrize("failure, message", [
    ("NotAllowedError", "The browser denied the microphone: allow it for this page"),
    ("NotFoundError", "No microphone found: connect one and press Record again."),
])
def test_a_denied_or_missing_microphone_says_so_in_one_line(studio_url, browser, failure, message):
    wait = WebDriverWait(browser, WAIT)
    browser.get(studio_url)
    wait.until(ready.text_to_be_present_in_element((By.ID, "status"), "Ready"))
    browser.execute_script(MICROPHONE_FAILS, failure)
    record = browser.find_element(By.ID, "record")
    record.click()
    status = browser.find_element(By.ID, "status")
    wait.until(lambda _: message in status.text)
    assert "error" in status.get_attribute("class") and "\n" not in status.text
    assert record.text == "Record" and record.is_enabled()
    assert not browser.find_element(By.ID, "record-level").is_displayed()
    assert not browser.find_element(By.ID, "idea-file").get_property("disabled")
