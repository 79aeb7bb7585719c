"""A browser speaker's recording: Chromium's microphone, through the relay, to a stored track.

The fake microphone plays a WAV made here: espeak-ng phrases with pauses, and 200 ms 1 kHz
tones at known offsets, looped by Chromium. The page notes when each tone reached its local
microphone track (a Web Audio AnalyserNode on ``window.stoa.media.mic``); the test then ends
the space, fetches the manifest and the track from storage, decodes the track with ffmpeg and
checks that it lasts the speaker's time on the space clock, that each tone sits where the page
saw it on that clock and at the WAV's spacing, and that the speech is where the WAV has it.

Both sides lag the microphone a little. Measured against a MediaStreamTrackProcessor on the
same track (4 runs on the development machine), the AnalyserNode sees a tone 9-19 ms after
Chromium delivers it, and the recorder places it 15-35 ms after that delivery (a 20 ms Opus
frame is whole before its packet leaves, and the recorder anchors a stream on its earliest
arrival). The two mostly cancel: track minus page came out between -11 and +19 ms over 10
runs, the same for both tones of a run. The tolerance is the issue's 40 ms, not widened.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import wave
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np
import pytest
from playwright.sync_api import Page, expect

from stoa.storage import open_store
from tests.browser.conftest import OpenPage
from tests.browser.helpers import create_space, wait_connected
from tests.conftest import LiveServer, service_missing
from tests.recorder.media import RATE, decode

LOOP_SECONDS = 10.0
PHRASES = [
    (0.6, "Welcome to the space."),
    (3.7, "Today we talk about audio."),
    (7.3, "Thanks for listening."),
]
TONES = [3.0, 6.5]
TONE_SECONDS = 0.2
TONE_HZ = 1000.0
TOLERANCE = 0.040
# Blocks of 5 ms (five cycles of the tone) for finding tones and speech, in the page and here.
BLOCK = RATE // 200

# Runs in the space page before its own scripts: as soon as the page has its microphone, an
# AnalyserNode watches it for the 1 kHz tone. A block of the analyser's latest samples is
# tonal when the tone holds most of its power. The analyser's buffer ends at the context's
# current time; that maps to the page's clock by the earliest poll that saw each render (a
# poll can only be late), so the polling interval does not add to the times noted.
TONE_WATCH_JS = (
    """
(() => {
  const watch = (window.__toneWatch = {
    onsets: [], connectedAt: null, sampleRate: null, polls: 0, error: null,
  });
  const BLOCK = $BLOCK, HZ = $HZ, FRACTION = 0.8, LEVEL = 0.02;
  const attach = async (stream) => {
    const ctx = new AudioContext({ sampleRate: $RATE });
    await ctx.resume();
    watch.sampleRate = ctx.sampleRate;
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 2048;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const n = analyser.fftSize, rate = ctx.sampleRate;
    const data = new Float32Array(n);
    const cos = new Float32Array(BLOCK), sin = new Float32Array(BLOCK);
    for (let i = 0; i < BLOCK; i += 1) {
      cos[i] = Math.cos((2 * Math.PI * HZ * i) / rate);
      sin[i] = Math.sin((2 * Math.PI * HZ * i) / rate);
    }
    const tonal = (start) => {
      let c = 0, s = 0, p = 0;
      for (let i = 0; i < BLOCK; i += 1) {
        const v = data[start + i];
        c += v * cos[i]; s += v * sin[i]; p += v * v;
      }
      return p > LEVEL * LEVEL * BLOCK && (2 * (c * c + s * s)) / (BLOCK * p) > FRACTION;
    };
    let offset = Infinity, lastContextTime = -1, lastOnset = -Infinity;
    setInterval(() => {
      const now = performance.timeOrigin + performance.now();
      const contextTime = ctx.currentTime;
      if (contextTime === lastContextTime) return;
      lastContextTime = contextTime;
      watch.polls += 1;
      offset = Math.min(offset, now - contextTime * 1000);
      analyser.getFloatTimeDomainData(data);
      const blocks = Math.floor(n / BLOCK);
      const first = n - blocks * BLOCK;
      const flags = [];
      for (let b = 0; b < blocks; b += 1) flags.push(tonal(first + b * BLOCK));
      // An onset: a quiet block, then two tonal ones (the second confirms it).
      for (let b = 1; b + 1 < blocks; b += 1) {
        if (!flags[b - 1] && flags[b] && flags[b + 1]) {
          const at = offset + (contextTime - (n - first - b * BLOCK) / rate) * 1000;
          if (at - lastOnset > 1000) {
            watch.onsets.push(at);
            lastOnset = at;
          }
          break;
        }
      }
    }, 2);
  };
  const waiting = setInterval(() => {
    const media = window.stoa && window.stoa.media;
    if (watch.connectedAt === null && media && media.pc
        && media.pc.connectionState === "connected") {
      watch.connectedAt = performance.timeOrigin + performance.now();
    }
    if (media && media.mic && !watch.started) {
      watch.started = true;
      attach(media.mic).catch((exc) => { watch.error = String(exc); });
    }
    if (watch.started && watch.connectedAt !== null) clearInterval(waiting);
  }, 5);
})();
""".replace("$BLOCK", str(BLOCK))
    .replace("$HZ", str(TONE_HZ))
    .replace("$RATE", str(RATE))
)


def _espeak(text: str, folder: Path) -> np.ndarray:
    raw = folder / "phrase.wav"
    subprocess.run(["espeak-ng", "-w", str(raw), text], check=True, capture_output=True)
    pcm = subprocess.run(
        ["sox", str(raw), "-t", "f32", "-r", str(RATE), "-c", "1", "-"],
        check=True,
        capture_output=True,
    ).stdout
    phrase: np.ndarray = np.frombuffer(pcm, dtype=np.float32)
    return phrase


def _stretches(loud: np.ndarray, min_gap: int, min_length: int) -> list[tuple[int, int]]:
    """Runs of True blocks as [start, end) block indices, joining gaps under ``min_gap``."""
    runs: list[list[int]] = []
    for i in np.flatnonzero(loud):
        if runs and i - runs[-1][1] < min_gap:
            runs[-1][1] = int(i) + 1
        else:
            runs.append([int(i), int(i) + 1])
    return [(a, b) for a, b in runs if b - a >= min_length]


def block_rms(samples: np.ndarray) -> np.ndarray:
    usable = len(samples) - len(samples) % BLOCK
    squares = samples[:usable].reshape(-1, BLOCK).astype(np.float64) ** 2
    rms: np.ndarray = np.sqrt(np.mean(squares, axis=1))
    return rms


def tone_onsets(samples: np.ndarray) -> list[float]:
    """Times (s) where the 1 kHz tone starts, found as the page finds it."""
    usable = len(samples) - len(samples) % BLOCK
    blocks = samples[:usable].reshape(-1, BLOCK).astype(np.float64)
    n = np.arange(BLOCK)
    c = blocks @ np.cos(2 * np.pi * TONE_HZ * n / RATE)
    s = blocks @ np.sin(2 * np.pi * TONE_HZ * n / RATE)
    power = np.sum(blocks**2, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(power > 0, 2 * (c**2 + s**2) / (BLOCK * power), 0)
    flags = (power > 0.02**2 * BLOCK) & (fraction > 0.8)
    onsets: list[float] = []
    for b in range(1, len(flags) - 1):
        if not flags[b - 1] and flags[b] and flags[b + 1]:
            t = b * BLOCK / RATE
            if not onsets or t - onsets[-1] > 1.0:
                onsets.append(t)
    return onsets


@dataclass(frozen=True)
class Mic:
    """The WAV Chromium plays as its microphone, and where its speech is (s, in the loop)."""

    path: Path
    speech: list[tuple[float, float]]


@pytest.fixture(scope="module")
def mic(tmp_path_factory: pytest.TempPathFactory) -> Mic:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            service_missing(tool, FileNotFoundError(tool))
    folder = tmp_path_factory.mktemp("recording-mic")
    speech = np.zeros(round(LOOP_SECONDS * RATE), dtype=np.float32)
    for (start, text), end in zip(PHRASES, [*TONES, LOOP_SECONDS - 0.5], strict=True):
        phrase = _espeak(text, folder)
        at = round(start * RATE)
        assert at + len(phrase) < end * RATE - 0.2 * RATE, f"{text!r} runs into what follows"
        speech[at : at + len(phrase)] = phrase
    # Speech stretches: 5 ms blocks above -40 dBFS, pauses under 300 ms joined.
    stretches = [
        (a * BLOCK / RATE, b * BLOCK / RATE)
        for a, b in _stretches(block_rms(speech) > 0.01, min_gap=60, min_length=20)
    ]
    assert len(stretches) == len(PHRASES), stretches
    signal = speech.copy()
    t = np.arange(round(TONE_SECONDS * RATE)) / RATE
    for start in TONES:
        at = round(start * RATE)
        signal[at : at + len(t)] = 0.5 * np.sin(2 * np.pi * TONE_HZ * t)
    path = folder / "mic.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(signal, -1, 1) * 32767).astype("<i2").tobytes())
    return Mic(path, stretches)


@pytest.fixture(scope="module")
def fake_mic(mic: Mic) -> Path:
    """This module's browser plays the tone-marked WAV (overrides the shared speech)."""
    return mic.path


def end_space(page: Page) -> None:
    page.get_by_role("button", name="End space").click()
    page.get_by_role("button", name="End it for everyone").click()
    expect(page.get_by_role("alert")).to_contain_text("This space has ended")


def wait_recorded(
    client: httpx.Client, space_id: str, timeout_s: float = 15.0
) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/spaces/{space_id}").json()
        if body["state"] == "recorded":
            return body
        time.sleep(0.1)
    raise AssertionError(f"the space never became recorded: {body}")


def test_browser_speaker_is_recorded_on_the_space_clock(
    open_page: OpenPage, live_server: LiveServer, mic: Mic, tmp_path: Path
) -> None:
    host = open_page(init_script=TONE_WATCH_JS)
    assert isinstance(host, Page)
    space_id = create_space(host, "Recorded from the browser", "Hana Host")
    wait_connected(host, publishing=True)
    # Speak until a tone pair of one loop reached the microphone after the connection was up
    # (so both are in the recording), and a phrase after it.
    host.wait_for_function(
        f"""() => {{
          const w = window.__toneWatch;
          if (w.error) return true;
          const heard = w.onsets.filter((t) => t > w.connectedAt + 500);
          const pair = heard.some((t, i) => i > 0
            && Math.abs(t - heard[i - 1] - {(TONES[1] - TONES[0]) * 1000}) < 100);
          return pair && performance.timeOrigin + performance.now() > heard.at(-1) + 2500;
        }}""",
        timeout=2 * LOOP_SECONDS * 1000 + 10_000,
    )
    watch = host.evaluate("window.__toneWatch")
    assert watch["error"] is None, watch["error"]
    assert watch["sampleRate"] == RATE
    end_space(host)

    with httpx.Client(base_url=live_server.url, timeout=10) as client:
        space = wait_recorded(client, space_id)
    store = open_store(live_server.settings)
    manifest = json.loads(store.get_bytes(f"spaces/{space_id}/manifest.json"))
    assert manifest["record"] is True
    (track,) = manifest["tracks"]
    assert track["name"] == "Hana Host"
    path = tmp_path / "track.ogg"
    store.download(track["key"], path)
    audio = decode(path)

    origin = datetime.fromisoformat(manifest["started_at"]).timestamp()
    ended = datetime.fromisoformat(manifest["ended_at"]).timestamp()
    start: float = track["start_offset_ms"] / 1000
    duration = len(audio) / RATE
    # The track decodes, and lasts the speaker's time on the space clock: from the first
    # packet to the end of the space.
    assert duration == pytest.approx(track["duration_ms"] / 1000, abs=0.001)
    assert start + duration == pytest.approx(ended - origin, abs=TOLERANCE)
    assert track["packets_received"] > 0 and track["packets_lost"] == 0
    assert space["tracks"][0]["packets"]["received"] == track["packets_received"]  # type: ignore[index]

    # Each tone in the track (a tone cut by the track's start aside) sits on the space clock
    # where the page saw it reach the microphone, and at the WAV's spacing.
    found = [t for t in tone_onsets(audio) if t > 0.25]
    assert len(found) >= 2, f"tones in the track at {found}"
    heard: list[float] = [t / 1000 - origin for t in watch["onsets"]]
    lags = [min((start + t - h for h in heard), key=abs) for t in found]
    assert all(abs(lag) <= TOLERANCE for lag in lags), (
        f"tones at {[round(start + t, 3) for t in found]} s on the space clock; the page saw "
        f"them at {[round(h, 3) for h in heard]} s; track minus page {[round(x, 4) for x in lags]}"
    )
    # And every tone the page saw while the track ran is in it.
    during = [h for h in heard if start + 0.3 < h < ended - origin - 0.3]
    assert len(during) == len(found), f"page saw tones at {during}, the track has {found}"
    spacing = [b - a for a, b in zip(found, found[1:], strict=False)]
    cycle = [TONES[1] - TONES[0], LOOP_SECONDS - (TONES[1] - TONES[0])]
    assert all(min(abs(s - c) for c in cycle) <= TOLERANCE for s in spacing), (
        f"tone spacing {spacing}, the WAV's {cycle}"
    )

    # The speech is where the WAV has it: place the WAV's loop on the track by a tone.
    first = TONES[0] if abs(spacing[0] - cycle[0]) <= TOLERANCE else TONES[1]
    loop_origin = found[0] - first  # where the WAV's loop with that tone starts, in the track
    loud = block_rms(audio) > 0.01
    expected = np.zeros(len(loud), dtype=bool)
    for loop_start in np.arange(loop_origin - LOOP_SECONDS, duration, LOOP_SECONDS):
        for a, b in mic.speech:
            i, j = (max(0, round((loop_start + x) * RATE / BLOCK)) for x in (a, b))
            expected[i:j] = True
    tones = np.zeros(len(loud), dtype=bool)
    for t in found:
        i = round(t * RATE / BLOCK)
        tones[i - 4 : i + round((TONE_SECONDS + 0.05) * RATE / BLOCK)] = True
    # Blocks near a stretch's edge and the track's first and last 100 ms are not judged.
    edge = round(0.1 * RATE / BLOCK)
    inner = expected & np.roll(expected, edge) & np.roll(expected, -edge)
    outer = ~(expected | np.roll(expected, edge) | np.roll(expected, -edge) | tones)
    inner[:edge] = inner[-edge:] = outer[:edge] = outer[-edge:] = False
    assert inner.sum() * BLOCK / RATE > 1.5, "too little of the WAV's speech in the track"
    assert loud[inner].mean() > 0.6, "the WAV's speech is missing from the track"
    assert loud[outer].mean() < 0.02, "the track has sound where the WAV is silent"
