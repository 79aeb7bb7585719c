// Building DOM without innerHTML: strings always become text nodes, so user text stays text.

/**
 * h("button", {class: "x", onclick: fn, "aria-label": "..."}, "text", childNode, ...)
 * Attributes that are null, undefined or false are left out; true sets an empty attribute.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      el.className = value;
    } else if (name === "style") {
      for (const [prop, v] of Object.entries(value)) el.style.setProperty(prop, v);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/**
 * Make `container`'s children the given items, in order, reusing each element whose `sig`
 * has not changed: a re-render neither closes an open menu nor moves keyboard focus.
 *
 * @param {HTMLElement} container
 * @param {{key: string, sig: string, build: () => HTMLElement}[]} items
 */
export function reconcile(container, items) {
  const existing = new Map();
  for (const el of container.children) {
    if (el.dataset.key) existing.set(el.dataset.key, el);
  }
  const focused = document.activeElement;
  let refocus = null;
  const next = items.map(({ key, sig, build }) => {
    const old = existing.get(key);
    if (old && old.dataset.sig === sig) return old;
    const el = build();
    el.dataset.key = key;
    el.dataset.sig = sig;
    if (old) {
      for (const open of old.querySelectorAll(".disclosure.is-open[data-key]")) {
        const twin = el.querySelector(`.disclosure[data-key="${CSS.escape(open.dataset.key)}"]`);
        if (twin) setOpen(twin, true);
      }
      if (old.contains(focused) && focused.dataset.key) {
        refocus = el.querySelector(`[data-key="${CSS.escape(focused.dataset.key)}"]`);
      }
    }
    return el;
  });
  const keep = new Set(next);
  for (const el of [...container.children]) if (!keep.has(el)) el.remove();
  next.forEach((el, i) => {
    const at = container.children[i];
    if (at !== el) container.insertBefore(el, at || null);
  });
  if (refocus) refocus.focus();
}

let disclosures = 0;

/**
 * A button that shows and hides `content` (a menu), with aria-expanded; Escape closes it.
 * Its `key` lets reconcile() keep it open across re-renders.
 */
export function disclosure(key, text, ariaLabel, content) {
  disclosures += 1;
  const id = `disclosure-${disclosures}`;
  const toggle = h(
    "button",
    {
      type: "button",
      class: "toggle small",
      "aria-expanded": "false",
      "aria-controls": id,
      "aria-label": ariaLabel,
      "data-key": `${key}-toggle`,
    },
    text,
  );
  const panel = h("div", { class: "menu", id, hidden: true }, content);
  const box = h("div", { class: "disclosure", "data-key": key }, toggle, panel);
  toggle.addEventListener("click", () => {
    setOpen(box, !box.classList.contains("is-open"));
    if (box.classList.contains("is-open")) panel.scrollIntoView({ block: "nearest" });
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && box.classList.contains("is-open")) {
      setOpen(box, false);
      toggle.focus();
    }
  });
  return box;
}

export function setOpen(box, open) {
  box.classList.toggle("is-open", open);
  box.querySelector(":scope > button").setAttribute("aria-expanded", String(open));
  box.querySelector(":scope > .menu").hidden = !open;
}

export function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.slice(0, 2).map((w) => Array.from(w)[0]);
  return (letters.join("") || "?").toUpperCase();
}

/** A stable hue for a participant id, so each avatar keeps its colour. */
export function hue(id) {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return hash % 360;
}
