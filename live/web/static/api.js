// The REST API, errors in words, and what this browser remembers about its spaces.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

/** A FastAPI error body's `detail` (a string, or a list of validation errors) in words. */
export function describe(detail, status) {
  if (typeof detail === "string" && detail) return capitalize(detail);
  if (Array.isArray(detail) && detail.length) {
    return detail
      .map((d) => {
        const field = (d.loc || []).filter((part) => part !== "body").join(" ");
        return capitalize(field ? `${field}: ${d.msg}` : String(d.msg));
      })
      .join(". ");
  }
  if (status === 0) return "The server cannot be reached. Check your connection and try again.";
  return `The server answered with an error (${status}). Try again in a moment.`;
}

function capitalize(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Call the API; resolves to the JSON body (null for 204), rejects with an `ApiError`. */
export async function api(method, path, { body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, describe(null, 0));
  }
  if (response.status === 204) return null;
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) throw new ApiError(response.status, describe(payload?.detail, response.status));
  return payload;
}

function read(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null; // storage disabled: the page still works, it just forgets on reload
  }
}

function write(key, value) {
  try {
    if (value == null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // see read()
  }
}

export const store = {
  token: (spaceId) => read(`stoa:token:${spaceId}`),
  setToken: (spaceId, token) => write(`stoa:token:${spaceId}`, token),
  hostToken: (spaceId) => read(`stoa:host:${spaceId}`),
  setHostToken: (spaceId, token) => write(`stoa:host:${spaceId}`, token),
  name: () => read("stoa:name") || "",
  setName: (name) => write("stoa:name", name),
};

/** A server timestamp as a Date; the catalog stores UTC, sometimes without the offset. */
export function parseTime(iso) {
  if (!iso) return null;
  const zoned = /[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`;
  const date = new Date(zoned);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function formatTime(date) {
  return date.toLocaleString(undefined, {
    weekday: "short",
    month: "short",
    day: "numeric",
    year: date.getFullYear() === new Date().getFullYear() ? undefined : "numeric",
    hour: "numeric",
    minute: "2-digit",
  });
}

/** Rewrite every <time datetime> under `root` in the reader's own time zone. */
export function localizeTimes(root = document) {
  for (const el of root.querySelectorAll("time[datetime]")) {
    const date = parseTime(el.getAttribute("datetime"));
    if (date) el.textContent = formatTime(date);
  }
}
