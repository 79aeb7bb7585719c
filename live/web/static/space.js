// The space page: who is here, joining, the stage, the controls, reactions and the audio.
//
// Everything shown comes from the event socket (a snapshot, then events); actions go through
// the REST API and come back as events. `window.stoa` is a small hook for tests and debugging.

import { api, ApiError, formatTime, localizeTimes, parseTime, store } from "./api.js";
import { h, reconcile } from "./dom.js";
import { RoomSocket } from "./events.js";
import { MediaLink } from "./media.js";
import { audienceItems, paintLevels, stageItems } from "./people.js";
import { RoomModel } from "./room.js";

const $ = (id) => document.getElementById(id);
const initial = JSON.parse($("space-data").textContent);
// RTCIceServer objects ({urls, username, credential}); a bare URL is short for {urls}.
const iceServers = JSON.parse($("ice-data").textContent).map((s) =>
  typeof s === "string" ? { urls: s } : s,
);
const spaceId = initial.id;
const base = `/api/spaces/${encodeURIComponent(spaceId)}`;
const model = new RoomModel(initial);

const TERMINAL = new Set(["left", "removed", "ended", "gone"]);
// A space is over once ended; "recorded" is an ended space whose recording is archived.
const OVER = new Set(["ended", "recorded"]);
const page = {
  // viewing (not joined) | joining | joined | left | removed | ended | gone
  phase: "viewing",
  token: null,
  socketStatus: "connecting",
  leaving: false,
  notice: null, // {text, actions: [Node]} for the states that end the visit
  problems: new Map(), // kind -> message, for what can still be fixed (microphone, audio)
};

let socket = null;
const media = new MediaLink({
  spaceId,
  iceServers,
  token: () => page.token,
  sinks: $("audio-sinks"),
  onProblem: (message, kind) => {
    if (message) page.problems.set(kind, message);
    else page.problems.delete(kind);
    renderNotice();
  },
  onChange: () => renderControls(),
});

// Actions

function call(method, path, body) {
  return api(method, `${base}${path}`, { body, token: page.token });
}

/** Run an action; a refusal is told in words, and the events bring the result. */
async function act(run) {
  try {
    await run();
  } catch (exc) {
    if (exc instanceof ApiError && handleRefusal(exc)) return;
    toast(exc.message || String(exc));
  }
}

const moderation = {
  setRole: (person, role) =>
    act(() => call("POST", `/participants/${encodeURIComponent(person.id)}/role`, { role })),
  mute: (person) =>
    act(() => call("POST", `/participants/${encodeURIComponent(person.id)}/mute`, { muted: true })),
  remove: (person) =>
    act(async () => {
      await call("DELETE", `/participants/${encodeURIComponent(person.id)}`);
      toast(`${person.name} was removed.`);
    }),
};

async function joinWithName(name) {
  hideJoinError();
  page.phase = "joining";
  renderControls();
  try {
    const joined = await api("POST", `${base}/join`, { body: { name } });
    store.setName(name);
    adopt(joined.token);
  } catch (exc) {
    page.phase = "viewing";
    if (!(exc instanceof ApiError && handleRefusal(exc, { fromJoin: true }))) {
      showJoinError(exc.message || String(exc));
    }
    renderControls();
  }
}

/** Come back with a stored token (or the host token); false if none is good any more. */
async function resume(tokens) {
  for (const token of [...new Set(tokens.filter(Boolean))]) {
    try {
      const joined = await api("POST", `${base}/join`, { body: {}, token });
      adopt(joined.token);
      return true;
    } catch (exc) {
      if (exc instanceof ApiError && exc.status === 401) continue;
      if (!(exc instanceof ApiError && handleRefusal(exc))) toast(exc.message || String(exc));
      return false;
    }
  }
  store.setToken(spaceId, null);
  return false;
}

function adopt(token) {
  page.token = token;
  page.phase = "joined";
  page.notice = null;
  store.setToken(spaceId, token);
  openSocket();
  render();
}

async function leave() {
  page.leaving = true; // the socket's `closed` comes before the answer: do not reconnect
  try {
    await call("POST", "/leave");
  } catch (exc) {
    page.leaving = false;
    if (!(exc instanceof ApiError && handleRefusal(exc))) toast(exc.message);
    return;
  }
  // A reload should not bring you back; the Rejoin button still knows who you are.
  if (!model.hosting) store.setToken(spaceId, null);
  finish("left");
}

/** A refusal that ends the visit (removed, ended, unknown); true when it was one. */
function handleRefusal(exc, { fromJoin = false } = {}) {
  if (exc.status === 403 && (fromJoin || /removed/i.test(exc.message))) {
    finish("removed", exc.message);
    return true;
  }
  if (exc.status === 410) {
    finish("ended");
    return true;
  }
  if (exc.status === 404 && /space/i.test(exc.message) && !/participant/i.test(exc.message)) {
    finish("gone", exc.message);
    return true;
  }
  if (exc.status === 401) {
    // The token is no longer good (expired, or the server's key changed): join again.
    store.setToken(spaceId, null);
    page.token = null;
    page.phase = "viewing";
    media.close();
    openSocket();
    showJoinError(exc.message);
    render();
    return true;
  }
  return false;
}

/**
 * The visit is over: stop the audio, say why in words, and (unless the space is over) keep
 * showing the room as someone who has not joined.
 */
function finish(phase, detail) {
  page.phase = phase;
  page.leaving = false;
  if (socket) socket.stop();
  socket = null;
  media.close();
  page.problems.clear();
  hideToast();
  model.youId = null;
  const back = h("a", { class: "button", href: "/" }, "See other spaces");
  if (phase === "removed") {
    store.setToken(spaceId, null);
    page.token = null;
    page.notice = {
      text: detail
        ? sentence(detail)
        : "You were removed from this space by a moderator, and cannot rejoin it.",
      actions: [back],
    };
  } else if (phase === "ended") {
    if (!OVER.has(model.space.state)) model.space.state = "ended";
    // The same address shows the replay once the space is over (replay_api's page).
    const replay = h("a", { class: "button", href: location.pathname }, "See the replay");
    page.notice = {
      text: "This space has ended. Thanks for listening!",
      actions: initial.record ? [replay, back] : [back],
    };
  } else if (phase === "left") {
    const again = page.token;
    page.token = null;
    const rejoin = h("button", { type: "button", class: "primary" }, "Rejoin");
    rejoin.addEventListener("click", async () => {
      rejoin.disabled = true;
      const ok = await resume([again, store.hostToken(spaceId)]);
      if (!ok && page.phase === "left") {
        page.phase = "viewing"; // the join form, with a name
        page.notice = null;
        render();
      }
    });
    page.notice = { text: "You left the space.", actions: [rejoin, back] };
  } else if (phase === "gone") {
    page.notice = { text: sentence(detail || "This space does not exist."), actions: [back] };
  }
  if (phase === "left" || phase === "removed") openSocket();
  render();
}

function sentence(text) {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

// The event socket

function openSocket() {
  if (socket) socket.stop();
  socket = new RoomSocket(
    () => {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const query = page.token ? `?token=${encodeURIComponent(page.token)}` : "";
      return `${scheme}//${location.host}${base}/events${query}`;
    },
    {
      onEvent,
      onStatus: (status) => {
        page.socketStatus = status;
        renderStatus();
      },
    },
  );
}

function startViewing() {
  page.phase = "viewing";
  page.token = null;
  openSocket();
  render();
}

function onEvent(event, source) {
  if (source !== socket) return; // a socket this page already replaced
  const you = model.youId;
  switch (event.type) {
    case "snapshot":
      model.reset(event);
      if (page.phase === "joined" && !model.you) {
        // A token the room no longer knows: removed while we were away.
        finish("removed");
        return;
      }
      break;
    case "error":
      onSocketError(event);
      return;
    case "closed":
      if (page.leaving) source.stop();
      return; // otherwise (e.g. "too slow") the socket reconnects for a fresh snapshot
    case "ended":
      model.apply(event);
      finish("ended");
      return;
    case "removed":
      if (event.participant_id === you) {
        finish("removed");
        return;
      }
      model.apply(event);
      break;
    case "role": {
      model.apply(event);
      if (event.participant.id === you && event.by !== you) {
        const by = model.name(event.by);
        toast(model.onStage ? `${by} invited you on stage.` : `${by} moved you to the audience.`);
      }
      break;
    }
    case "mute":
      model.apply(event);
      if (event.participant_id === you && event.muted && event.by !== you) {
        toast(`${model.name(event.by)} muted you. Unmute when you want to speak.`);
      }
      break;
    case "reaction":
      floatReaction(event);
      return;
    case "levels":
      model.apply(event);
      paintLevels($("speakers"), model.levels);
      return;
    case "space":
      model.apply(event);
      if (model.space.state === "live") hideJoinError();
      break;
    default:
      if (!model.apply(event)) return;
  }
  render();
}

function onSocketError(event) {
  const exc = new ApiError(event.status, event.detail);
  if (!handleRefusal(exc, { fromJoin: event.status === 403 })) {
    console.warn("room socket:", event.detail);
  }
}

// Rendering

function render() {
  renderHead();
  reconcile($("speakers"), stageItems(model, moderation));
  paintLevels($("speakers"), model.levels);
  reconcile($("listeners"), audienceItems(model, moderation));
  $("listener-count").textContent = String(model.listenerCount);
  renderNotice();
  renderControls();
  syncMedia();
}

const STATE_LABELS = { live: "Live", scheduled: "Scheduled", ended: "Ended", recorded: "Ended" };
const RECORDING_NOTES = {
  scheduled: "This space will be recorded.",
  live: "Recording: what is said on stage is recorded.",
  ended: "This space was recorded.",
  recorded: "This space was recorded.",
};

function renderHead() {
  const { state, title } = model.space;
  const badge = $("state");
  badge.textContent = STATE_LABELS[state] || state;
  badge.className = `state state-${state}`;
  $("space").dataset.state = state;
  $("title").textContent = title;
  document.title = `${title} · Stoa`;
  if (model.hostName) $("host-name").textContent = model.hostName;
  const when = $("when");
  const stamp = (label, iso) => {
    const date = parseTime(iso);
    return date ? [label, h("time", { datetime: date.toISOString() }, formatTime(date))] : [];
  };
  if (state === "scheduled") when.replaceChildren(...stamp("Starts ", model.space.scheduled_for));
  else if (state === "live") when.replaceChildren(...stamp("Live since ", model.space.started_at));
  else when.replaceChildren(...stamp("Ended ", model.space.ended_at));
  const recording = $("recording");
  recording.textContent = initial.record ? RECORDING_NOTES[state] || "" : "";
  recording.hidden = !recording.textContent;
  recording.classList.toggle("is-on", state === "live");
}

function renderNotice() {
  const box = $("notice");
  const text = $("notice-text");
  const actions = $("notice-actions");
  if (page.notice) {
    box.className = "notice";
    text.textContent = page.notice.text;
    actions.replaceChildren(...page.notice.actions);
    box.hidden = false;
    return;
  }
  if (page.problems.size) {
    box.className = "notice problem";
    text.textContent = [...page.problems.values()].join(" ");
    const fixes = [];
    if (page.problems.has("microphone")) {
      const retry = h("button", { type: "button", class: "primary" }, "Try the microphone again");
      retry.addEventListener("click", () => media.retryMicrophone());
      fixes.push(retry);
    }
    actions.replaceChildren(...fixes);
    box.hidden = false;
    return;
  }
  box.hidden = true;
}

function renderStatus() {
  const space = $("space");
  space.classList.toggle("is-reconnecting", page.socketStatus === "reconnecting");
  if (page.socketStatus === "reconnecting" && !TERMINAL.has(page.phase)) {
    toast("Connection lost; reconnecting…", 0);
  } else if (page.socketStatus === "connected" && $("toast").dataset.sticky) {
    hideToast();
  }
}

let controlsSig = "";

function renderControls() {
  const you = model.you;
  const state = model.space.state;
  const joined = page.phase === "joined" && you;
  const form = $("join-form");
  const viewing = page.phase === "viewing" || page.phase === "joining";
  form.hidden = !(viewing && !OVER.has(state));
  $("join-button").disabled = page.phase === "joining" || state !== "live";
  const hint = $("join-hint");
  if (viewing && state === "scheduled") {
    hint.textContent = "This space has not started yet. You can join when the host starts it.";
    hint.hidden = false;
  } else {
    hint.hidden = true;
  }
  $("reactions").hidden = !(joined && state === "live");

  const sig = JSON.stringify([
    page.phase,
    state,
    you && [you.role, you.muted, you.hand_raised],
    model.hosting,
    media.blockedAudio,
    media.publishing,
  ]);
  if (sig === controlsSig) return;
  controlsSig = sig;
  const controls = $("controls");
  if (!joined) {
    controls.replaceChildren();
    controls.hidden = true;
    return;
  }
  const buttons = [];
  const button = (text, key, run, extra = {}) => {
    const b = h("button", { type: "button", "data-key": key, ...extra }, text);
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        await run();
      } finally {
        b.disabled = false;
      }
    });
    buttons.push(b);
    return b;
  };
  if (media.blockedAudio) {
    button("Turn on sound", "sound", async () => media.resumeAudio(), { class: "primary" });
  }
  if (state === "live" && model.onStage) {
    const meId = encodeURIComponent(you.id);
    if (you.muted) {
      button(
        "Unmute",
        "mic",
        () => act(() => call("POST", `/participants/${meId}/mute`, { muted: false })),
        { class: "primary", "aria-label": "Unmute your microphone" },
      );
    } else {
      button(
        "Mute",
        "mic",
        async () => {
          media.setMuted(true); // silence at once; the event confirms
          await act(() => call("POST", `/participants/${meId}/mute`, { muted: true }));
          const now = model.you;
          media.setMuted(Boolean(now && now.muted)); // as the room has it, if the call failed
        },
        { "aria-label": "Mute your microphone" },
      );
    }
    if (you.role !== "host") {
      button("Leave the stage", "unstage", () =>
        act(() => call("POST", `/participants/${meId}/role`, { role: "listener" })),
      );
    }
  } else if (state === "live") {
    if (you.hand_raised) {
      button("Lower hand", "hand", () => act(() => call("DELETE", "/hand")));
    } else {
      button("Raise hand", "hand", () => act(() => call("POST", "/hand")));
    }
  }
  if (model.hosting && state === "scheduled") {
    button("Start the space", "start", () => act(() => call("POST", "/start")), {
      class: "primary",
    });
  }
  button("Leave", "leave", leave);
  if (model.hosting && !OVER.has(state)) buttons.push(endButton());
  const focusedKey = controls.contains(document.activeElement)
    ? document.activeElement.dataset.key
    : null;
  controls.replaceChildren(...buttons);
  controls.hidden = false;
  if (focusedKey) {
    const again = controls.querySelector(`[data-key="${CSS.escape(focusedKey)}"]`);
    if (again) again.focus();
  }
}

function endButton() {
  const box = h("span", { class: "confirm" });
  const ask = h("button", { type: "button", class: "danger", "data-key": "end" }, "End space");
  const yes = h("button", { type: "button", class: "danger", "data-key": "end-yes" },
    "End it for everyone");
  const no = h("button", { type: "button", "data-key": "end-no" }, "Cancel");
  ask.addEventListener("click", () => {
    box.replaceChildren(yes, no);
    yes.focus();
  });
  no.addEventListener("click", () => {
    box.replaceChildren(ask);
    ask.focus();
  });
  yes.addEventListener("click", () => {
    yes.disabled = true;
    act(() => call("POST", "/end")).finally(() => {
      yes.disabled = false;
    });
  });
  box.append(ask);
  return box;
}

function syncMedia() {
  const you = model.you;
  const live = model.space.state === "live";
  let mode = "off";
  if (page.phase === "joined" && you && live) mode = model.onStage ? "stage" : "audience";
  media.setMuted(Boolean(you && you.muted));
  media.want(mode);
}

// Toasts and reactions

let toastTimer = null;

function toast(message, ms = 6000) {
  const el = $("toast");
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toastTimer);
  if (ms) {
    delete el.dataset.sticky;
    toastTimer = setTimeout(hideToast, ms);
  } else {
    el.dataset.sticky = "1";
  }
}

function hideToast() {
  const el = $("toast");
  el.hidden = true;
  delete el.dataset.sticky;
}

function showJoinError(message) {
  const error = $("join-error");
  error.textContent = message;
  error.hidden = false;
}

function hideJoinError() {
  $("join-error").hidden = true;
}

const MAX_FLOATING = 30;

function floatReaction(event) {
  const layer = $("floating");
  if (layer.childElementCount >= MAX_FLOATING) layer.firstElementChild.remove();
  const bubble = h(
    "span",
    { class: "bubble", style: { "--x": `${Math.round(Math.random() * 70)}%` } },
    h("span", { class: "emoji" }, event.emoji),
    h("span", { class: "who" }, model.name(event.participant_id)),
  );
  bubble.addEventListener("animationend", () => bubble.remove());
  layer.append(bubble);
}

for (const button of $("reactions").querySelectorAll("button[data-emoji]")) {
  button.addEventListener("click", () =>
    act(() => call("POST", "/reactions", { emoji: button.dataset.emoji })),
  );
}

$("join-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("join-name").value.trim();
  if (!name) {
    showJoinError("Give a name so the room knows who is listening.");
    $("join-name").focus();
    return;
  }
  joinWithName(name);
});

// Tests and debugging: the room as this page sees it, and the audio it receives.
window.stoa = {
  get state() {
    return model;
  },
  get phase() {
    return page.phase;
  },
  get pc() {
    return media.pc;
  },
  /** MediaStream by stage seat index (null for your own seat). */
  get seatStreams() {
    return media.seatStreams(model.seats, model.youId);
  },
  get publishing() {
    return media.publishing;
  },
  get socket() {
    return socket;
  },
  media,
};

// Start

localizeTimes();
$("join-name").value = store.name();
if (OVER.has(initial.state)) {
  finish("ended");
} else {
  const tokens = [store.token(spaceId), store.hostToken(spaceId)];
  render();
  if (tokens.some(Boolean)) {
    resume(tokens).then((ok) => {
      if (!ok && page.phase === "viewing") startViewing();
    });
  } else {
    startViewing();
  }
}
