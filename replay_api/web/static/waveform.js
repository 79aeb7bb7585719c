// The replay's waveform behind the seek bar, from peaks.json (audiowaveform JSON, version 2):
// a min and a max per "pixel" of samples, as 8-bit values. The part already played is drawn
// in the accent colour.

export class Waveform {
  constructor(canvas) {
    this.canvas = canvas;
    this.peaks = null; // Int8 pairs: min, max, min, max...
    this.fraction = 0;
    this.frame = 0;
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  async load(url) {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`peaks: HTTP ${response.status}`);
    const body = await response.json();
    if (!Array.isArray(body.data) || body.channels !== 1) throw new Error("peaks: unknown format");
    this.peaks = body.data;
    this.draw();
  }

  /** Where playback is, 0 to 1. */
  setProgress(fraction) {
    const next = Math.min(1, Math.max(0, fraction || 0));
    if (Math.abs(next - this.fraction) < 0.001) return;
    this.fraction = next;
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.draw();
      });
    }
  }

  draw() {
    const { canvas, peaks } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = Math.round(canvas.clientWidth * ratio);
    const height = Math.round(canvas.clientHeight * ratio);
    if (!width || !height) return;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, width, height);
    if (!peaks || peaks.length < 2) return;
    const style = getComputedStyle(canvas);
    const played = style.getPropertyValue("--played").trim() || "#6a3de8";
    const rest = style.getPropertyValue("--unplayed").trim() || "#b9b4cc";
    const pixels = peaks.length / 2;
    const bar = Math.max(1, Math.round(2 * ratio));
    const columns = Math.max(1, Math.floor(width / (bar + 1)));
    const middle = height / 2;
    for (let c = 0; c < columns; c += 1) {
      const from = Math.floor((c * pixels) / columns);
      const to = Math.max(from + 1, Math.floor(((c + 1) * pixels) / columns));
      let low = 0;
      let high = 0;
      for (let p = from; p < to && p < pixels; p += 1) {
        low = Math.min(low, peaks[2 * p]);
        high = Math.max(high, peaks[2 * p + 1]);
      }
      const top = middle - (high / 128) * middle;
      const size = Math.max(1, ((high - low) / 128) * middle);
      ctx.fillStyle = c / columns < this.fraction ? played : rest;
      ctx.fillRect(c * (bar + 1), top, bar, size);
    }
  }
}
