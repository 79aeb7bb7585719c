// The audio link with the relay: one RTCPeerConnection, replaced whenever the stage changes us.
//
// The relay answers one offer per participant (POST /rtc); a new offer replaces the previous
// connection, so moving on or off stage is "make a new connection, then close the old one".
// A listener offers 13 receive-only seats; transceiver i carries stage seat i. Someone on stage
// offers their microphone first (send-only), then 12 receive-only seats carrying everyone on
// stage but themselves, in seat order.

import { api, ApiError } from "./api.js";

export const STAGE_SEATS = 13;
const GATHER_TIMEOUT_MS = 3000;
const RETRY_MS = [1000, 2000, 4000, 8000, 15000];

export class MicrophoneError extends Error {}

export class MediaLink {
  /**
   * @param {object} options
   * @param {string} options.spaceId
   * @param {RTCIceServer[]} options.iceServers
   * @param {() => string|null} options.token
   * @param {HTMLElement} options.sinks  where the <audio> elements live
   * @param {(problem: string|null, kind?: string) => void} options.onProblem
   * @param {() => void} options.onChange
   */
  constructor({ spaceId, iceServers, token, sinks, onProblem, onChange }) {
    this.spaceId = spaceId;
    this.iceServers = iceServers;
    this.token = token;
    this.sinks = sinks;
    this.onProblem = onProblem;
    this.onChange = onChange;
    this.wanted = "off"; // "off" | "audience" | "stage"
    this.layout = "off"; // what the current connection was made for
    this.publishing = false; // the current connection sends the microphone
    this.pc = null;
    this.slots = []; // MediaStream per receive-only transceiver
    this.audios = [];
    this.mic = null; // the microphone's MediaStream, kept across renegotiations
    this.micMuted = false;
    this.blockedAudio = false;
    this.queue = Promise.resolve();
    this.failures = 0;
    this.retryTimer = null;
    // The relay replaced our connection with one we then dropped: the current one is dead.
    this.stale = false;
  }

  /** Ask for a layout; renegotiates when it differs from the current connection's. */
  want(mode) {
    if (mode === this.wanted && (mode === "off" || this.pc)) return this.queue;
    this.wanted = mode;
    clearTimeout(this.retryTimer);
    this.queue = this.queue.then(() => this.apply()).catch(() => {});
    return this.queue;
  }

  /** Try the microphone again, after the person allowed it. */
  retryMicrophone() {
    if (this.wanted !== "stage") return this.queue;
    this.queue = this.queue.then(() => this.apply(true)).catch(() => {});
    return this.queue;
  }

  setMuted(muted) {
    this.micMuted = muted;
    if (this.mic) for (const track of this.mic.getAudioTracks()) track.enabled = !muted;
  }

  async apply(force = false) {
    const mode = this.wanted;
    if (mode === "off") {
      this.teardown();
      return;
    }
    const healthy =
      this.pc && !this.stale && !["failed", "closed"].includes(this.pc.connectionState);
    const needsMic = mode === "stage" && !this.publishing;
    if (!force && healthy && this.layout === mode && !needsMic) return;
    let mic = null;
    if (mode === "stage") {
      try {
        mic = await this.microphone();
        this.onProblem(null, "microphone");
      } catch (exc) {
        // Still hear the room from the stage; the page offers to try the microphone again.
        this.onProblem(exc.message, "microphone");
      }
      if (this.wanted !== mode) return;
    } else {
      this.releaseMicrophone();
    }
    if (!force && healthy && this.layout === mode && Boolean(mic) === this.publishing) return;
    try {
      await this.negotiate(mode, mic);
      this.failures = 0;
      this.onProblem(null, "connection");
    } catch (exc) {
      this.failures += 1;
      const fatal = exc instanceof ApiError && [401, 403, 404, 410].includes(exc.status);
      this.onProblem(`The audio connection could not be set up: ${exc.message}`, "connection");
      if (!fatal) this.scheduleRetry();
    }
    this.onChange();
  }

  async microphone() {
    if (this.mic && this.mic.getAudioTracks().some((t) => t.readyState === "live")) return this.mic;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new MicrophoneError(
        "This browser cannot use a microphone here (it needs a secure https:// page).",
      );
    }
    try {
      this.mic = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
        video: false,
      });
    } catch (exc) {
      throw new MicrophoneError(microphoneProblem(exc));
    }
    this.setMuted(this.micMuted);
    return this.mic;
  }

  releaseMicrophone() {
    if (!this.mic) return;
    for (const track of this.mic.getTracks()) track.stop();
    this.mic = null;
  }

  async negotiate(mode, mic) {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers });
    const seats = [];
    try {
      if (mic) {
        const [track] = mic.getAudioTracks();
        pc.addTransceiver(track, { direction: "sendonly", streams: [mic] });
      }
      const count = mode === "stage" ? STAGE_SEATS - 1 : STAGE_SEATS;
      for (let i = 0; i < count; i += 1) {
        seats.push(pc.addTransceiver("audio", { direction: "recvonly" }));
      }
      const slots = seats.map(() => new MediaStream());
      pc.addEventListener("track", (event) => {
        const index = seats.indexOf(event.transceiver);
        if (index < 0) return;
        slots[index].getTracks().forEach((t) => slots[index].removeTrack(t));
        slots[index].addTrack(event.track);
      });
      await pc.setLocalDescription(await pc.createOffer());
      // The relay does not trickle: the offer carries every candidate.
      await gathered(pc);
      const answer = await api("POST", `/api/spaces/${encodeURIComponent(this.spaceId)}/rtc`, {
        body: { type: "offer", sdp: pc.localDescription.sdp },
        token: this.token(),
      });
      if (this.wanted !== mode) throw new Superseded();
      await pc.setRemoteDescription(answer);
      const old = this.pc;
      this.pc = pc;
      this.layout = mode;
      this.stale = false;
      this.publishing = Boolean(mic);
      this.attach(slots);
      pc.addEventListener("connectionstatechange", () => this.watch(pc));
      if (old) old.close();
    } catch (exc) {
      pc.close();
      if (exc instanceof Superseded) {
        // The relay already answered it, and so dropped the connection we still hold.
        this.stale = true;
        return;
      }
      throw exc;
    }
  }

  watch(pc) {
    if (pc !== this.pc) return;
    if (pc.connectionState === "failed") {
      this.onProblem("The audio connection was lost; reconnecting…", "connection");
      this.scheduleRetry();
    } else if (pc.connectionState === "connected") {
      this.onProblem(null, "connection");
    }
    this.onChange();
  }

  scheduleRetry() {
    clearTimeout(this.retryTimer);
    const delay = RETRY_MS[Math.min(this.failures, RETRY_MS.length - 1)];
    this.retryTimer = setTimeout(() => {
      this.queue = this.queue.then(() => this.apply(true)).catch(() => {});
    }, delay);
  }

  /** Give each seat's stream to an <audio autoplay>: Chrome plays remote WebRTC audio only so. */
  attach(slots) {
    this.slots = slots;
    while (this.audios.length < slots.length) {
      const audio = document.createElement("audio");
      audio.autoplay = true;
      this.sinks.append(audio);
      this.audios.push(audio);
    }
    this.audios.forEach((audio, i) => {
      audio.srcObject = slots[i] || null;
      if (slots[i]) this.play(audio);
    });
  }

  play(audio) {
    audio.play().then(
      () => {
        if (this.blockedAudio) {
          this.blockedAudio = false;
          this.onChange();
        }
      },
      (exc) => {
        if (exc.name === "NotAllowedError" && !this.blockedAudio) {
          this.blockedAudio = true;
          this.onChange();
        }
      },
    );
  }

  /** After a click: browsers let pages play sound only once the person has interacted. */
  resumeAudio() {
    this.blockedAudio = false;
    for (const audio of this.audios) if (audio.srcObject) this.play(audio);
    this.onChange();
  }

  teardown() {
    clearTimeout(this.retryTimer);
    if (this.pc) this.pc.close();
    this.pc = null;
    this.layout = "off";
    this.publishing = false;
    this.releaseMicrophone();
    for (const audio of this.audios) audio.srcObject = null;
    this.slots = [];
    this.onChange();
  }

  close() {
    this.wanted = "off";
    this.teardown();
  }

  /**
   * The stream carrying each of the 13 stage seats (by seat index), given the stage `seats`
   * and who we are: null for our own seat, or when there is no connection.
   */
  seatStreams(seats, youId) {
    const all = Array.from({ length: STAGE_SEATS }, (_, i) => seats[i] ?? null);
    if (this.layout === "audience") return all.map((_, i) => this.slots[i] || null);
    if (this.layout === "stage") {
      // Our connection's seats carry the stage without us, in the same order.
      const others = all.filter((id) => id !== youId || id === null);
      return all.map((id, i) => {
        if (id !== null && id === youId) return null;
        const slot = id === null ? i - (seats.includes(youId) ? 1 : 0) : others.indexOf(id);
        return this.slots[slot] || null;
      });
    }
    return all.map(() => null);
  }
}

class Superseded extends Error {}

function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, GATHER_TIMEOUT_MS);
    function done() {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    }
    function check() {
      if (pc.iceGatheringState === "complete") done();
    }
    pc.addEventListener("icegatheringstatechange", check);
  });
}

function microphoneProblem(exc) {
  switch (exc && exc.name) {
    case "NotAllowedError":
    case "SecurityError":
      return (
        "Microphone access was refused, so others cannot hear you. Allow the microphone " +
        "for this site in your browser's settings, then try again."
      );
    case "NotFoundError":
    case "OverconstrainedError":
      return "No microphone was found. Plug one in, then try again.";
    case "NotReadableError":
    case "AbortError":
      return "The microphone is busy or not working (another app may be using it).";
    default:
      return `The microphone could not be started: ${exc && exc.message ? exc.message : exc}`;
  }
}
