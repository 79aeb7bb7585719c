// The people of a room as list items: speakers on stage, listeners, and moderators' actions.

import { disclosure, h, hue, initials } from "./dom.js";
import { ON_STAGE, ROLE_LABELS } from "./room.js";

const SPEAKING_LEVEL = 40; // loudness 0..127 (127 - RFC 6464 level): above -87 dBov or so

/**
 * @typedef {object} Moderation
 * @property {(person: object, role: string) => Promise<void>} setRole
 * @property {(person: object) => Promise<void>} mute
 * @property {(person: object) => Promise<void>} remove
 */

/** The reconcile() items of the stage, in seat order. */
export function stageItems(model, moderation) {
  return model.stage().map((person) => ({
    key: person.id,
    sig: signature(model, person),
    build: () => speakerCard(model, person, moderation),
  }));
}

/** The reconcile() items of the audience. */
export function audienceItems(model, moderation) {
  return model.audience().map((person) => ({
    key: person.id,
    sig: signature(model, person),
    build: () => listenerCard(model, person, moderation),
  }));
}

function signature(model, person) {
  const you = model.you;
  return JSON.stringify([
    person.name,
    person.role,
    person.hand_raised,
    person.muted,
    person.present,
    model.youId,
    you ? you.role : null,
  ]);
}

function speakerCard(model, person, moderation) {
  const isYou = person.id === model.youId;
  const label = ROLE_LABELS[person.role];
  return h(
    "li",
    {
      class: `speaker${person.muted ? " is-muted" : ""}${person.present ? "" : " is-away"}`,
      "data-id": person.id,
      "data-role": person.role,
      style: { "--hue": String(hue(person.id)), "--level": "0" },
    },
    h("span", { class: "avatar", "aria-hidden": "true" }, initials(person.name)),
    h("span", { class: "name" }, person.name, isYou ? h("span", { class: "you" }, " (you)") : null),
    h(
      "span",
      { class: "tags" },
      label ? h("span", { class: `badge badge-${person.role}` }, label) : null,
      person.muted ? h("span", { class: "badge badge-muted" }, "Muted") : null,
      person.present ? null : h("span", { class: "badge" }, "Away"),
    ),
    manageMenu(model, person, moderation),
  );
}

function listenerCard(model, person, moderation) {
  const isYou = person.id === model.youId;
  const quickInvite =
    person.hand_raised && model.moderating && !isYou
      ? actionButton(`Invite ${person.name} to speak`, "Invite to speak", "invite", () =>
          moderation.setRole(person, "speaker"),
        )
      : null;
  if (quickInvite) quickInvite.classList.add("primary", "small");
  return h(
    "li",
    { class: `listener${person.hand_raised ? " has-hand" : ""}`, "data-id": person.id },
    h("span", { class: "avatar small", "aria-hidden": "true", style: { "--hue": String(hue(person.id)) } },
      initials(person.name)),
    h("span", { class: "name" }, person.name, isYou ? h("span", { class: "you" }, " (you)") : null),
    person.hand_raised
      ? h("span", { class: "badge badge-hand" }, h("span", { "aria-hidden": "true" }, "✋ "), "Hand raised")
      : null,
    quickInvite,
    manageMenu(model, person, moderation),
  );
}

/** What the viewer may do to `person`, by the room's rules (live/room.py). */
function actions(model, person, moderation) {
  const you = model.you;
  if (!you || !model.moderating || person.id === you.id || person.role === "host") return [];
  const hosting = you.role === "host";
  const name = person.name;
  const list = [];
  const role = (labelFor, text, key, newRole) =>
    list.push(actionButton(labelFor, text, key, () => moderation.setRole(person, newRole)));
  if (person.role === "listener") {
    role(`Invite ${name} to speak`, "Invite to speak", "invite", "speaker");
    if (hosting) role(`Make ${name} a co-host`, "Make co-host", "cohost", "cohost");
  } else if (person.role === "speaker") {
    if (hosting) role(`Make ${name} a co-host`, "Make co-host", "cohost", "cohost");
    role(`Move ${name} to the audience`, "Move to audience", "audience", "listener");
  } else if (person.role === "cohost" && hosting) {
    role(`Make ${name} a speaker`, "Make speaker", "speaker", "speaker");
    role(`Move ${name} to the audience`, "Move to audience", "audience", "listener");
  }
  if (ON_STAGE.has(person.role) && !person.muted) {
    list.push(actionButton(`Mute ${name}`, "Mute", "mute", () => moderation.mute(person)));
  }
  if (person.role !== "cohost" || hosting) {
    list.push(removeButton(person, moderation));
  }
  return list;
}

function manageMenu(model, person, moderation) {
  const buttons = actions(model, person, moderation);
  if (!buttons.length) return null;
  return disclosure("manage", "Manage", `Manage ${person.name}`, buttons);
}

function actionButton(ariaLabel, text, key, run) {
  const button = h("button", { type: "button", "aria-label": ariaLabel, "data-key": key }, text);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await run();
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** Removal is for good (the browser cannot rejoin), so it asks once more. */
function removeButton(person, moderation) {
  const box = h("span", { class: "confirm" });
  const ask = h(
    "button",
    { type: "button", class: "danger", "aria-label": `Remove ${person.name}`, "data-key": "remove" },
    "Remove",
  );
  const yes = h(
    "button",
    { type: "button", class: "danger", "data-key": "remove-yes" },
    `Yes, remove ${person.name} for good`,
  );
  const no = h("button", { type: "button", "data-key": "remove-no" }, "Cancel");
  ask.addEventListener("click", () => {
    box.replaceChildren(yes, no);
    yes.focus();
  });
  no.addEventListener("click", () => {
    box.replaceChildren(ask);
    ask.focus();
  });
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    try {
      await moderation.remove(person);
    } finally {
      yes.disabled = false;
    }
  });
  box.append(ask);
  return box;
}

/** Show the speaking levels (no re-render: these come four times a second). */
export function paintLevels(list, levels) {
  for (const item of list.children) {
    const level = levels.get(item.dataset.id) || 0;
    item.style.setProperty("--level", (level / 127).toFixed(2));
    item.classList.toggle("is-speaking", level >= SPEAKING_LEVEL);
  }
}
