// The replay page: a space that is over. While its recording is saved and processed, the page
// says how far that has come (polling the replay API); once replayable, the player, the
// captions synced with it, the transcript, search within it, deep links (?t=) and, for the
// host, the transcript downloads. `window.stoa` is a small hook for tests and debugging.

import { api, localizeTimes } from "/static/api.js";
import { Downloads } from "./downloads.js";
import { clock, parseMoment } from "./moment.js";
import { Player } from "./player.js";
import { Transcript } from "./transcript.js";
import { Waveform } from "./waveform.js";

const $ = (id) => document.getElementById(id);
const replay = JSON.parse($("replay-data").textContent);
const spaceId = replay.id;

const STAGES = {
  prepare: "Preparing the tracks",
  transcribe: "Transcribing what was said",
  replay: "Mixing the audio",
  captions: "Writing the captions",
  index: "Indexing for search",
  publish: "Publishing the replay",
  done: "Finishing",
};

localizeTimes();
window.stoa = { replay };

if (replay.state === "replayable") {
  startReplay();
} else if (replay.record && replay.recorded_at) {
  watchProcessing();
}

// While the replay is being made

function describe(space) {
  const p = space.processing;
  if (space.state === "ended") return { text: "Saving the recording…", progress: 0 };
  if (!p) return { text: "Waiting to be processed…", progress: 0 };
  if (p.state === "failed") {
    return { text: `Preparing the replay failed: ${p.error || "unknown error"}`, failed: true };
  }
  return { text: `${STAGES[p.stage] || p.stage} · ${p.progress}% done`, progress: p.progress };
}

function showProgress(space) {
  const { text, progress, failed } = describe(space);
  $("progress-text").textContent = text;
  const bar = $("progress");
  bar.hidden = Boolean(failed);
  if (progress != null) bar.value = progress;
  $("replay").classList.toggle("is-failed", Boolean(failed));
  const notice = failed
    ? "This space has ended. Its replay could not be prepared."
    : "This space has ended. Its replay is being prepared.";
  if ($("notice-text").textContent !== notice) $("notice-text").textContent = notice;
}

function watchProcessing() {
  showProgress(replay);
  let delay = 2000;
  const poll = async () => {
    try {
      const space = await api("GET", `/api/spaces/${encodeURIComponent(spaceId)}/replay`);
      window.stoa.replay = space;
      if (space.state === "replayable") {
        location.reload(); // the server renders the player, keeping ?t=
        return;
      }
      showProgress(space);
      delay = 2000;
    } catch (exc) {
      console.warn("replay status:", exc.message);
      delay = Math.min(delay * 2, 30_000);
    }
    setTimeout(poll, delay);
  };
  setTimeout(poll, delay);
}

// The replay

function startReplay() {
  const audio = $("audio");
  const trackEl = $("captions");
  const track = trackEl.track;
  // Hidden, not showing: an <audio> has nowhere to draw captions; the page shows them.
  track.mode = "hidden";

  const waveform = new Waveform($("waveform"));
  let player = null; // made below; the transcript and the time callback need it first
  const transcript = new Transcript($("lines"), {
    onSeek: (t) => {
      player.seek(t);
      player.play();
    },
  });
  const captionNow = $("caption-now");
  let shownCaption = "";

  player = new Player(
    audio,
    {
      play: $("play"),
      back: $("back"),
      forward: $("forward"),
      seek: $("seek"),
      current: $("current"),
      total: $("total"),
      speed: $("speed"),
    },
    {
      duration: replay.duration_s,
      onTime: (t) => {
        transcript.setTime(t);
        const total = player ? player.duration : replay.duration_s;
        waveform.setProgress(total ? t / total : 0);
        const now = transcript.current
          .map((i) => transcript.lines[i])
          .map((line) => (line.speaker ? `${line.speaker}: ${line.text}` : line.text))
          .join("\n");
        if (now !== shownCaption) {
          shownCaption = now;
          captionNow.textContent = now;
        }
      },
    },
  );
  // cuechange fires exactly at cue boundaries; timeupdate only a few times a second.
  track.addEventListener("cuechange", () => player.tick());

  const linesStatus = $("lines-status");
  const loadLines = () => {
    if (!track.cues) return;
    transcript.load(track.cues);
    linesStatus.textContent = transcript.lines.length ? "" : "Nothing was said in this space.";
    linesStatus.hidden = transcript.lines.length > 0;
    player.tick();
    if (transcript.current.length) transcript.reveal(transcript.current[0], false);
  };
  trackEl.addEventListener("load", loadLines);
  trackEl.addEventListener("error", () => {
    linesStatus.textContent = "The captions could not be loaded. Reload the page to try again.";
  });
  if (trackEl.readyState === HTMLTrackElement.LOADED) loadLines();

  // A deep link starts at its moment.
  const start = parseMoment(new URLSearchParams(location.search).get("t"));
  if (start != null) player.seek(start);

  $("follow").addEventListener("change", (event) => {
    transcript.follow = event.target.checked;
    if (transcript.follow && transcript.current.length) transcript.reveal(transcript.current[0]);
  });

  // Search within the transcript
  const findInput = $("find-input");
  const findCount = $("find-count");
  const runFind = () => {
    const matches = transcript.find(findInput.value);
    if (!findInput.value.trim()) findCount.textContent = "";
    else if (!matches) findCount.textContent = "No line has those words.";
    else findCount.textContent = `${matches} line${matches === 1 ? "" : "s"} found. Enter goes to the next.`;
    if (transcript.follow && transcript.current.length) transcript.reveal(transcript.current[0], false);
  };
  findInput.addEventListener("input", runFind);
  findInput.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && findInput.value) {
      event.preventDefault();
      findInput.value = "";
      runFind();
    }
  });
  $("find").addEventListener("submit", (event) => {
    event.preventDefault();
    const line = transcript.nextMatch(player.time);
    if (!line) return;
    player.seek(line.start);
    transcript.focus(line.index);
  });

  // Link to this moment
  $("share").addEventListener("click", async () => {
    const t = Math.floor(player.time);
    const url = new URL(location.href);
    url.searchParams.set("t", String(t));
    history.replaceState(null, "", url);
    try {
      await navigator.clipboard.writeText(url.href);
      toast(`Link to ${clock(t)} copied.`);
    } catch {
      toast(`The address bar now links to ${clock(t)}.`);
    }
  });

  document.addEventListener("keydown", (event) => player.handleKey(event));

  waveform.load(replay.links.peaks).catch((exc) => console.warn("waveform:", exc.message));
  $("waveform").addEventListener("click", (event) => {
    const box = event.currentTarget.getBoundingClientRect();
    player.seek(((event.clientX - box.left) / box.width) * player.duration);
  });

  new Downloads({
    box: $("downloads"),
    formats: $("formats"),
    toggle: $("public"),
    toggleBox: $("public-box"),
    error: $("downloads-error"),
    spaceId,
  }).start();

  // Getters, so the hook shows the page as it is now.
  window.stoa = {
    replay,
    audio,
    track,
    player,
    transcript,
    /** The lines as shown: {index, start, end, speaker, text}. */
    get lines() {
      return transcript.lines;
    },
    /** Indices of the highlighted lines. */
    get current() {
      return [...transcript.current];
    },
  };
}

let toastTimer = null;

function toast(message) {
  const el = $("toast");
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.hidden = true;
  }, 5000);
}
