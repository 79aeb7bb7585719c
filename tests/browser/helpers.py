"""What the browser tests do through the UI, and how they listen inside a page."""

from __future__ import annotations

from playwright.sync_api import Page, expect

# Samples a seat's MediaStream with a Web Audio AnalyserNode: the RMS of the waveform every
# 50 ms, in full-scale units. It measures what the page really received and decoded.
SEAT_RMS_JS = """
async ([seat, ms]) => {
  const stream = window.stoa.seatStreams[seat];
  if (!stream || stream.getAudioTracks().length === 0) return null;
  const ctx = new AudioContext();
  await ctx.resume();
  const source = ctx.createMediaStreamSource(stream);
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;
  source.connect(analyser);
  const buffer = new Float32Array(analyser.fftSize);
  const rms = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    analyser.getFloatTimeDomainData(buffer);
    let sum = 0;
    for (const v of buffer) sum += v * v;
    rms.push(Math.sqrt(sum / buffer.length));
  }
  source.disconnect();
  await ctx.close();
  return rms;
}
"""

# Speech from the fake mic reaches ~0.09 RMS; decoded silence is ~0.
HEARD_RMS = 0.02
SILENT_RMS = 0.002


def seat_rms(page: Page, seat: int, ms: int = 2000) -> list[float]:
    rms = page.evaluate(SEAT_RMS_JS, [seat, ms])
    assert rms is not None, f"seat {seat} carries no audio track on {page.url}"
    return list(rms)


def wait_heard(page: Page, seat: int, timeout_s: float = 10.0) -> list[float]:
    """Listen on ``seat`` until speech is heard in a 2 s window; the last window's levels."""
    rms: list[float] = []
    for _ in range(max(1, int(timeout_s / 2))):
        rms = seat_rms(page, seat)
        if max(rms) > HEARD_RMS:
            return rms
    raise AssertionError(f"nothing heard on seat {seat}: peak RMS {max(rms, default=0):.4f}")


def create_space(
    page: Page, title: str, host_name: str, when: str = "", *, keep_form: bool = False
) -> str:
    """Start (or schedule) a space from the home page's form; returns its id.

    ``keep_form``: fill the home page already open, keeping choices made on it.
    """
    if not keep_form:
        page.goto("/")
    page.get_by_label("Title").fill(title)
    page.get_by_label("Your name").fill(host_name)
    if when:
        page.get_by_label("Schedule for later").fill(when)
    page.locator("#create-submit").click()
    page.wait_for_url("**/spaces/*")
    return page.url.rsplit("/", 1)[1]


def join(page: Page, name: str) -> None:
    page.get_by_label("Your name").fill(name)
    page.get_by_role("button", name="Join", exact=True).click()
    expect(page.get_by_role("button", name="Leave", exact=True)).to_be_visible()


def wait_connected(page: Page, *, publishing: bool) -> None:
    """Wait for the page's peer connection to the relay (and its microphone, or none)."""
    page.wait_for_function(
        "([publishing]) => window.stoa.pc && window.stoa.pc.connectionState === 'connected'"
        " && window.stoa.publishing === publishing",
        arg=[publishing],
    )


def seats(page: Page) -> list[str]:
    return list(page.evaluate("window.stoa.state.seats"))


def wait_role(page: Page, role: str) -> None:
    """Wait for the page to know itself in ``role`` (the room's event may follow the media)."""
    page.wait_for_function(
        "([role]) => window.stoa.state.you !== null && window.stoa.state.you.role === role",
        arg=[role],
    )


def you(page: Page) -> dict[str, object]:
    """This page's own participant, once its room snapshot has said who it is."""
    page.wait_for_function("window.stoa.state.you !== null")
    return dict(page.evaluate("({...window.stoa.state.you})"))
