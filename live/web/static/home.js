// The home page: list times in the reader's zone, and the form that opens a space.

import { api, ApiError, localizeTimes, store } from "./api.js";

localizeTimes();

const form = document.getElementById("create-form");
const title = document.getElementById("title");
const hostName = document.getElementById("host-name");
const when = document.getElementById("when");
const record = document.getElementById("record");
const submit = document.getElementById("create-submit");
const error = document.getElementById("create-error");

hostName.value = store.name();

function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}`
  );
}

function updateWhen() {
  when.min = localInputValue(new Date());
  submit.textContent = when.value ? "Schedule" : "Start now";
}
when.addEventListener("input", updateWhen);
updateWhen();

function showError(message, field) {
  error.textContent = message;
  error.hidden = false;
  if (field) field.focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const body = {
    title: title.value.trim(),
    host_name: hostName.value.trim(),
    record: record.checked,
  };
  if (!body.title) return showError("Give your space a title.", title);
  if (!body.host_name) return showError("Say who is hosting: give your name.", hostName);
  if (when.value) {
    const date = new Date(when.value);
    if (Number.isNaN(date.getTime())) return showError("That date and time is not valid.", when);
    if (date <= new Date()) {
      return showError("That time has passed; leave it empty to go live now.", when);
    }
    body.scheduled_for = date.toISOString();
  }
  submit.disabled = true;
  try {
    const created = await api("POST", "/api/spaces", { body });
    const spaceId = created.space.id;
    store.setHostToken(spaceId, created.host_token);
    store.setToken(spaceId, created.host_token);
    store.setName(body.host_name);
    window.location.assign(`/spaces/${encodeURIComponent(spaceId)}`);
  } catch (exc) {
    showError(exc instanceof ApiError ? exc.message : String(exc));
    submit.disabled = false;
  }
});
