// Transcript downloads: the host's (with the host token kept in this browser), or anyone's
// once the host makes them public, with the host's switch between the two.

import { api, ApiError, store } from "/static/api.js";
import { h } from "/static/dom.js";

const LABELS = { txt: "Text", srt: "SRT", vtt: "WebVTT", json: "JSON" };

/**
 * Who this browser is to the space: the host (a stored token the server says is the host's)
 * or anyone. Tokens the server refuses (expired, another key) are skipped.
 */
export async function transcriptAccess(spaceId) {
  const path = `/api/spaces/${encodeURIComponent(spaceId)}/transcript`;
  const tokens = [...new Set([store.hostToken(spaceId), store.token(spaceId)].filter(Boolean))];
  for (const token of tokens) {
    try {
      const info = await api("GET", path, { token });
      if (info.host) return { info, token };
    } catch (exc) {
      if (!(exc instanceof ApiError && exc.status === 401)) throw exc;
    }
  }
  return { info: await api("GET", path), token: null };
}

export class Downloads {
  constructor({ box, formats, toggle, toggleBox, error, spaceId }) {
    this.box = box;
    this.formats = formats;
    this.toggle = toggle;
    this.toggleBox = toggleBox;
    this.error = error;
    this.spaceId = spaceId;
    this.access = null;
    toggle.addEventListener("change", () => this.setPublic(toggle.checked));
  }

  async start() {
    try {
      this.access = await transcriptAccess(this.spaceId);
    } catch (exc) {
      console.warn("transcript:", exc.message);
      return;
    }
    this.render();
  }

  render() {
    const { info, token } = this.access;
    this.box.hidden = !(info.ready && (info.can_download || info.host));
    this.toggleBox.hidden = !info.host;
    this.toggle.checked = info.public;
    const links = Object.entries(info.formats).map(([fmt, url]) => {
      const label = LABELS[fmt] || fmt.toUpperCase();
      if (token) {
        // The token goes in a header, so the file comes through fetch, then a local link.
        const button = h("button", { type: "button", class: "small", "data-format": fmt }, label);
        button.addEventListener("click", () => this.download(url, fmt, button));
        return button;
      }
      return h("a", { class: "button small", href: url, download: "", "data-format": fmt }, label);
    });
    this.formats.replaceChildren(...links);
  }

  async download(url, fmt, button) {
    this.error.hidden = true;
    button.disabled = true;
    try {
      const response = await fetch(url, {
        headers: { Authorization: `Bearer ${this.access.token}` },
        credentials: "same-origin",
      });
      if (!response.ok) {
        const body = await response.json().catch(() => null);
        throw new ApiError(response.status, body?.detail || `HTTP ${response.status}`);
      }
      const blob = await response.blob();
      const name =
        /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "")?.[1] ||
        `transcript.${fmt}`;
      const href = URL.createObjectURL(blob);
      const link = h("a", { href, download: name, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(href), 10_000);
    } catch (exc) {
      this.showError(exc.message);
    } finally {
      button.disabled = false;
    }
  }

  async setPublic(value) {
    this.error.hidden = true;
    this.toggle.disabled = true;
    try {
      const info = await api(
        "POST",
        `/api/spaces/${encodeURIComponent(this.spaceId)}/transcript/visibility`,
        { body: { public: value }, token: this.access.token },
      );
      this.access = { ...this.access, info };
    } catch (exc) {
      this.showError(exc.message);
    } finally {
      this.toggle.disabled = false;
      this.render();
    }
  }

  showError(message) {
    this.error.textContent = message;
    this.error.hidden = false;
  }
}
