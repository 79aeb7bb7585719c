// The replay's player: an <audio> element with our own controls (play and pause, seek,
// 15 s skips, speed), keyboard shortcuts, and a time that survives a reload of the source.

import { clock, spoken } from "./moment.js";

const SPEEDS = ["0.75", "1", "1.25", "1.5", "1.75", "2"];
const SPEED_KEY = "stoa:replay-speed";

export class Player {
  /**
   * @param {HTMLAudioElement} audio
   * @param {{play, back, forward, seek, current, total, speed}} els controls from the page
   * @param {{duration: number, onTime: (t: number) => void}} options
   */
  constructor(audio, els, { duration, onTime }) {
    this.audio = audio;
    this.els = els;
    this.fallbackDuration = duration || 0;
    this.onTime = onTime;
    this.pending = null; // a seek asked for before the metadata came
    this.dragging = false;
    this.lastReload = 0;

    els.play.addEventListener("click", () => this.toggle());
    els.back.addEventListener("click", () => this.skip(-15));
    els.forward.addEventListener("click", () => this.skip(15));
    els.seek.addEventListener("input", () => {
      this.dragging = true;
      this.seek(Number(els.seek.value));
    });
    els.seek.addEventListener("change", () => {
      this.dragging = false;
    });
    els.speed.addEventListener("change", () => this.setSpeed(els.speed.value));

    for (const type of ["play", "pause", "ended"]) {
      audio.addEventListener(type, () => this.renderPlaying());
    }
    for (const type of ["timeupdate", "seeked", "seeking", "durationchange"]) {
      audio.addEventListener(type, () => this.tick());
    }
    audio.addEventListener("loadedmetadata", () => {
      if (this.pending != null) {
        const t = this.pending;
        this.pending = null;
        this.seek(t);
      }
      this.audio.playbackRate = Number(this.els.speed.value);
      this.tick();
    });
    audio.addEventListener("error", () => this.recover());

    const saved = readSpeed();
    if (saved) this.setSpeed(saved);
    this.renderPlaying();
    this.tick();
  }

  get duration() {
    const d = this.audio.duration;
    return Number.isFinite(d) && d > 0 ? d : this.fallbackDuration;
  }

  /** The moment shown: a seek still waiting for the metadata counts. */
  get time() {
    return this.pending != null ? this.pending : this.audio.currentTime;
  }

  seek(t) {
    const target = Math.min(Math.max(0, t), this.duration || t);
    if (this.audio.readyState < HTMLMediaElement.HAVE_METADATA) {
      this.pending = target;
    } else {
      this.audio.currentTime = target;
    }
    this.tick();
  }

  skip(delta) {
    this.seek(this.time + delta);
  }

  async play() {
    try {
      await this.audio.play();
    } catch (exc) {
      // A browser that wants a gesture first, or a source that failed: the button stays Play.
      if (exc.name !== "AbortError") console.warn("replay:", exc.message);
    }
  }

  toggle() {
    if (this.audio.paused) this.play();
    else this.audio.pause();
  }

  setSpeed(value) {
    const speed = SPEEDS.includes(value) ? value : "1";
    this.els.speed.value = speed;
    this.audio.playbackRate = Number(speed);
    this.audio.defaultPlaybackRate = Number(speed);
    writeSpeed(speed);
  }

  renderPlaying() {
    const playing = !this.audio.paused && !this.audio.ended;
    this.els.play.textContent = playing ? "Pause" : "Play";
    this.els.play.setAttribute("aria-label", playing ? "Pause" : "Play");
  }

  tick() {
    const t = this.time;
    const total = this.duration;
    this.els.current.textContent = clock(t);
    this.els.total.textContent = clock(total);
    const seek = this.els.seek;
    if (total && Number(seek.max) !== total) seek.max = String(total);
    if (!this.dragging) seek.value = String(t);
    seek.setAttribute("aria-valuetext", `${spoken(t)} of ${spoken(total)}`);
    this.onTime(t);
  }

  /**
   * A presigned storage URL expires, a network drops: load the source again (a fresh redirect)
   * and carry on from the same moment, at most every 10 s.
   */
  recover() {
    const error = this.audio.error;
    const now = Date.now();
    if (!error || error.code !== MediaError.MEDIA_ERR_NETWORK || now - this.lastReload < 10_000) {
      return;
    }
    this.lastReload = now;
    const at = this.time;
    const wasPlaying = !this.audio.paused;
    this.pending = at;
    this.audio.load();
    if (wasPlaying) this.play();
  }

  /** Keyboard shortcuts on the page, as common players have them. */
  handleKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return false;
    const target = event.target;
    const typing = target.closest("input, select, textarea, [contenteditable]");
    if (typing) return false;
    const onControl = target.closest("button, a, summary");
    const key = event.key;
    if ((key === " " && !onControl) || key === "k" || key === "K") {
      this.toggle();
    } else if (key === "j" || key === "J") {
      this.skip(-15);
    } else if (key === "l" || key === "L") {
      this.skip(15);
    } else if (key === "ArrowLeft") {
      this.skip(-5);
    } else if (key === "ArrowRight") {
      this.skip(5);
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }
}

function readSpeed() {
  try {
    return localStorage.getItem(SPEED_KEY);
  } catch {
    return null;
  }
}

function writeSpeed(value) {
  try {
    localStorage.setItem(SPEED_KEY, value);
  } catch {
    // storage disabled: the speed is kept for this visit only
  }
}
