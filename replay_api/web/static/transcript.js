// The transcript beside the player: a line per caption cue, with its speaker and time.
//
// The lines are the cues Chromium's (or any browser's) own WebVTT parser read from
// captions.vtt through the <track>, so what is highlighted is exactly what the browser
// considers the captions at that moment. The current cue is highlighted and, while following
// the audio, scrolled into view inside the list; clicking a line seeks there.

import { h } from "/static/dom.js";
import { clock, spoken } from "./moment.js";

/** A cue as a line: times, speaker (the <v> voice span) and plain text. */
export function cueLine(cue, index) {
  const fragment = cue.getCueAsHTML();
  // A <v Name> voice span becomes <span title="Name"> in the cue's HTML (WebVTT spec 6.5).
  const voice = fragment.querySelector("span[title]");
  return {
    index,
    start: cue.startTime,
    end: cue.endTime,
    speaker: voice ? voice.getAttribute("title") : "",
    text: fragment.textContent.replace(/\s+/g, " ").trim(),
  };
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export class Transcript {
  /**
   * @param {HTMLOListElement} list
   * @param {{onSeek: (seconds: number, line: object) => void}} handlers
   */
  constructor(list, { onSeek }) {
    this.list = list;
    this.onSeek = onSeek;
    this.lines = [];
    this.items = [];
    this.current = [];
    this.follow = true;
    this.query = [];
  }

  load(cues) {
    this.lines = Array.from(cues, (cue, i) => cueLine(cue, i));
    this.items = this.lines.map((line) => this.build(line));
    this.list.replaceChildren(...this.items);
    this.current = [];
  }

  build(line) {
    const button = h(
      "button",
      {
        type: "button",
        class: "line-button",
        "aria-label": `${spoken(line.start)}, ${line.speaker || "Speaker"}: ${line.text}`,
      },
      h("span", { class: "line-time", "aria-hidden": "true" }, clock(line.start)),
      h("span", { class: "line-speaker", "aria-hidden": "true" }, line.speaker),
      h("span", { class: "line-text", "aria-hidden": "true" }, line.text),
    );
    button.addEventListener("click", () => this.onSeek(line.start, line));
    const item = h("li", { class: "line", "data-index": line.index }, button);
    return item;
  }

  /** Indices of the cues that span `t` (start <= t < end); overlapping speakers give two. */
  at(t) {
    const found = [];
    for (const line of this.lines) {
      if (line.start > t) break; // cues are ordered by start
      if (t < line.end) found.push(line.index);
    }
    return found;
  }

  /** Highlight the cues at `t`, and bring the first into view while following. */
  setTime(t) {
    const next = this.at(t);
    if (next.length === this.current.length && next.every((i, k) => i === this.current[k])) {
      return;
    }
    for (const i of this.current) this.mark(i, false);
    for (const i of next) this.mark(i, true);
    this.current = next;
    if (this.follow && next.length) this.reveal(next[0]);
  }

  mark(index, on) {
    const item = this.items[index];
    if (!item) return;
    item.classList.toggle("is-current", on);
    const button = item.firstElementChild;
    if (on) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }

  /**
   * Scroll the list (not the page) so that the line sits in its upper third, whole if it fits
   * (its top first if not).
   */
  reveal(index, smooth = true) {
    const item = this.items[index];
    if (!item || item.hidden) return;
    const list = this.list; // positioned: the items' offsetParent
    let top = item.offsetTop - list.clientHeight / 3;
    top = Math.max(top, item.offsetTop + item.offsetHeight - list.clientHeight);
    top = Math.min(top, item.offsetTop);
    const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    list.scrollTo({ top: Math.max(0, top), behavior: smooth && !reduce ? "smooth" : "auto" });
  }

  /** Show only the lines with every word of `query` (in text or speaker); marks the words. */
  find(query) {
    this.query = query.trim().split(/\s+/).filter(Boolean);
    const words = this.query.map((w) => new RegExp(escapeRegExp(w), "iu"));
    const any = this.query.length
      ? new RegExp(this.query.map(escapeRegExp).join("|"), "giu")
      : null;
    let matches = 0;
    for (const line of this.lines) {
      const item = this.items[line.index];
      const haystack = `${line.speaker} ${line.text}`;
      const hit = words.every((w) => w.test(haystack));
      item.hidden = Boolean(any) && !hit;
      if (any && hit) matches += 1;
      const text = item.querySelector(".line-text");
      text.replaceChildren(...(any && hit ? highlight(line.text, any) : [line.text]));
    }
    return matches;
  }

  /** The first line shown by the search that starts after `t` (wrapping), or null. */
  nextMatch(t) {
    const shown = this.lines.filter((line) => !this.items[line.index].hidden);
    if (!shown.length) return null;
    return shown.find((line) => line.start > t + 0.05) || shown[0];
  }

  focus(index) {
    const item = this.items[index];
    if (item) item.firstElementChild.focus({ preventScroll: true });
    this.reveal(index, false);
  }
}

function highlight(text, pattern) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (!match[0]) continue;
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push(h("mark", {}, match[0]));
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}
