// The room as this page knows it: built from the snapshot, kept current by the events.

export const ON_STAGE = new Set(["host", "cohost", "speaker"]);
export const MODERATORS = new Set(["host", "cohost"]);
export const ROLE_LABELS = { host: "Host", cohost: "Co-host", speaker: "Speaker", listener: "" };

export class RoomModel {
  /** @param {object} space  the page's SpaceOut */
  constructor(space) {
    this.space = pickSpace(space);
    this.hostId = space.host ? space.host.id : null;
    this.participants = new Map();
    for (const p of space.speakers || []) this.participants.set(p.id, { ...p, present: true });
    this.seats = (space.speakers || []).map((p) => p.id);
    this.listenerCount = space.listener_count || 0;
    this.levels = new Map();
    this.youId = null;
  }

  reset(snapshot) {
    this.space = { ...this.space, ...pickSpace(snapshot.space) };
    this.hostId = snapshot.space.host_id || this.hostId;
    this.participants = new Map(snapshot.participants.map((p) => [p.id, { ...p, present: true }]));
    this.seats = [...snapshot.seats];
    this.listenerCount = snapshot.listener_count;
    this.levels = new Map(Object.entries(snapshot.levels || {}));
    this.youId = snapshot.you ? snapshot.you.id : null;
    if (snapshot.you) this.participants.set(snapshot.you.id, { ...snapshot.you, present: true });
  }

  /** Apply one event; returns true if more than the speaking levels changed. */
  apply(event) {
    switch (event.type) {
      case "joined":
        this.participants.set(event.participant.id, { ...event.participant, present: true });
        return true;
      case "left": {
        const p = this.participants.get(event.participant_id);
        if (p && ON_STAGE.has(p.role)) p.present = false;
        else this.participants.delete(event.participant_id);
        this.levels.delete(event.participant_id);
        return true;
      }
      case "listeners":
        this.listenerCount = event.count;
        return true;
      case "hand":
        this.update(event.participant_id, { hand_raised: event.raised });
        return true;
      case "role": {
        const before = this.participants.get(event.participant.id);
        this.participants.set(event.participant.id, {
          present: before ? before.present : true,
          ...event.participant,
        });
        if (!ON_STAGE.has(event.participant.role)) this.levels.delete(event.participant.id);
        return true;
      }
      case "seats":
        this.seats = [...event.seats];
        return true;
      case "mute":
        this.update(event.participant_id, { muted: event.muted });
        if (event.muted) this.levels.set(event.participant_id, 0);
        return true;
      case "removed":
        this.participants.delete(event.participant_id);
        this.levels.delete(event.participant_id);
        this.seats = this.seats.filter((id) => id !== event.participant_id);
        return true;
      case "levels":
        for (const [id, level] of Object.entries(event.levels)) this.levels.set(id, level);
        return false;
      case "space":
      case "ended":
        this.space = { ...this.space, ...pickSpace(event.space) };
        return true;
      default:
        return false;
    }
  }

  update(id, fields) {
    const p = this.participants.get(id);
    if (p) Object.assign(p, fields);
  }

  get you() {
    return this.youId ? this.participants.get(this.youId) || null : null;
  }

  get onStage() {
    const you = this.you;
    return Boolean(you && ON_STAGE.has(you.role));
  }

  get moderating() {
    const you = this.you;
    return Boolean(you && MODERATORS.has(you.role));
  }

  get hosting() {
    return Boolean(this.youId && this.youId === this.hostId);
  }

  get hostName() {
    const host = this.hostId && this.participants.get(this.hostId);
    return host ? host.name : null;
  }

  /** Everyone on stage, in seat order. */
  stage() {
    return this.seats.map((id) => this.participants.get(id)).filter(Boolean);
  }

  /** Listeners who are here: raised hands first, then by name. */
  audience() {
    return [...this.participants.values()]
      .filter((p) => !ON_STAGE.has(p.role) && p.present)
      .sort((a, b) => Number(b.hand_raised) - Number(a.hand_raised) || a.name.localeCompare(b.name));
  }

  name(id) {
    const p = this.participants.get(id);
    return p ? p.name : "Someone";
  }
}

function pickSpace(space) {
  const { id, title, state, scheduled_for, started_at, ended_at } = space;
  return { id, title, state, scheduled_for, started_at, ended_at };
}
