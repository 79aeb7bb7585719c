// Moments in a replay: seconds written as a clock, and the ?t= of a deep link read back.

/** 75.4 -> "1:15", 3725 -> "1:02:05". */
export function clock(seconds) {
  const whole = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** A clock in words for screen readers: "1 minute 15 seconds". */
export function spoken(seconds) {
  const whole = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0));
  const parts = [
    [Math.floor(whole / 3600), "hour"],
    [Math.floor((whole % 3600) / 60), "minute"],
    [whole % 60, "second"],
  ].filter(([n], i) => n || i === 2);
  return parts.map(([n, unit]) => `${n} ${unit}${n === 1 ? "" : "s"}`).join(" ");
}

/**
 * The moment a link's ?t= names, in seconds, or null: "75", "75.5", "1:15", "1:02:05",
 * "1m15s" or "1h2m5s" (as other players write it).
 */
export function parseMoment(text) {
  if (text == null) return null;
  const value = String(text).trim();
  let seconds = null;
  if (/^\d+(\.\d+)?s?$/.test(value)) {
    seconds = Number.parseFloat(value);
  } else if (/^\d+(:\d{1,2}){1,2}(\.\d+)?$/.test(value)) {
    seconds = value.split(":").reduce((total, part) => total * 60 + Number.parseFloat(part), 0);
  } else {
    const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(value);
    if (match && value) {
      seconds = Number(match[1] || 0) * 3600 + Number(match[2] || 0) * 60 + Number(match[3] || 0);
    }
  }
  return seconds != null && Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}
