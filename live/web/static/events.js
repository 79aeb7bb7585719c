// The room's event socket: a snapshot on connect, then events; reconnects with backoff.

const PING_EVERY_MS = 20_000;
// No frame at all (not even a pong) for this long: the socket is dead without knowing it.
const SILENCE_LIMIT_MS = 50_000;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];

export class RoomSocket {
  /**
   * @param {() => string} url  called at each (re)connection, so a new token is picked up
   * @param {{onEvent: (e: object) => void, onStatus?: (status: string) => void}} handlers
   */
  constructor(url, { onEvent, onStatus = () => {} }) {
    this.url = url;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.ws = null;
    this.stopped = false;
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.lastFrameAt = 0;
    this.open();
  }

  open() {
    if (this.stopped) return;
    const ws = new WebSocket(this.url());
    this.ws = ws;
    this.onStatus(this.attempt ? "reconnecting" : "connecting");
    ws.addEventListener("open", () => {
      this.lastFrameAt = Date.now();
      this.pingTimer = setInterval(() => this.ping(), PING_EVERY_MS);
    });
    ws.addEventListener("message", (message) => {
      if (ws !== this.ws || this.stopped) return;
      this.lastFrameAt = Date.now();
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (event.type === "snapshot") {
        this.attempt = 0;
        this.onStatus("connected");
      }
      if (event.type !== "pong") this.onEvent(event, this);
    });
    ws.addEventListener("close", () => {
      clearInterval(this.pingTimer);
      if (ws !== this.ws || this.stopped) return;
      this.onStatus("reconnecting");
      const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
      this.attempt += 1;
      // Jitter, so a room's listeners do not all come back in the same millisecond.
      this.retryTimer = setTimeout(() => this.open(), delay * (0.75 + Math.random() / 2));
    });
  }

  ping() {
    if (Date.now() - this.lastFrameAt > SILENCE_LIMIT_MS) {
      this.ws.close();
      return;
    }
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: "ping" }));
  }

  /** Close for good: after `closed`, `ended`, a refusal, or when the page opens another. */
  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
  }
}
