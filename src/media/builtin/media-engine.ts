/**
 * The media worker's engine: every RTP session and mixer, and the 20 ms tick that sends their
 * frames.
 *
 * The tick is split into {@link SLOTS} slots 5 ms apart. Each session belongs to one slot for its
 * whole life (a new session joins the emptiest), so its own packets stay 20 ms apart while the
 * worker sends a quarter of the packets at a time: shorter bursts, so the last packet of a burst
 * is less late. Mixers run in slot 0. Slots are scheduled from a monotonic clock
 * (`performance.now()`): slot n is due at start + n × 5 ms and each timer is set for the time left
 * until the next one, so timer lateness does not accumulate. A slot that is more than 100 ms
 * behind (the thread was stalled) restarts the schedule from now, keeping the order of the slots,
 * instead of sending a burst. The timer runs only while sessions exist.
 */
import { readFileSync } from 'node:fs';
import type { MediaEndpointStats, MediaSource } from '../media-server.js';
import { Clip } from './clip.js';
import type { Negotiated } from './media-sdp.js';
import { mixFrames } from './mix.js';
import { PortAllocator } from './port-allocator.js';
import { RtpSession, type Clips } from './rtp-session.js';
import { FRAME_SAMPLES, renderComfortNoise } from './tones.js';
import type { OpenResult, WorkerDiagnostics, WorkerSettings } from './worker-protocol.js';

const TICK_MS = 20;
/** Slots per tick. */
export const SLOTS = 4;
const SLOT_MS = TICK_MS / SLOTS;
const RESYNC_MS = 100;

/** CPU time of the calling thread in ms, from /proc (Linux); undefined elsewhere. */
function threadCpuMs(): number | undefined {
  try {
    const schedstat = readFileSync('/proc/thread-self/schedstat', 'utf8');
    return Number(schedstat.split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}

/** Sessions, mixers and the tick. */
export class MediaEngine {
  private readonly sessions = new Map<string, RtpSession>();
  /** The sessions of each slot. */
  private readonly slots: RtpSession[][] = Array.from({ length: SLOTS }, () => []);
  private readonly mixers = new Map<string, Set<RtpSession>>();
  private readonly allocator: PortAllocator;
  private readonly clips: Clips;
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;
  private epoch = 0;
  /** The next slot to run, counted from {@link epoch}. */
  private slotIndex = 0;
  private ticks = 0;
  private lateTicks = 0;
  /** How late slots started since the last diagnostics, ms (a ring of the last 12,000: one minute). */
  private readonly lateness = new Float64Array(12000);
  private latenessCount = 0;

  constructor(
    private readonly settings: WorkerSettings,
    private readonly log: (level: 'warn' | 'error', msg: string) => void,
  ) {
    this.allocator = new PortAllocator(settings.portMin, settings.portMax, settings.bindAddress);
    this.clips = {
      ringback: new Clip(settings.ringback),
      music: settings.music && settings.music.length > 0 ? new Clip(settings.music) : undefined,
      comfortNoise: new Clip(renderComfortNoise()),
    };
  }

  async open(label: string): Promise<OpenResult> {
    const pair = await this.allocator.allocate();
    const id = `m${this.nextId++}`;
    const session = new RtpSession(id, label, pair, this.clips, this.settings.cname, performance.now(), (msg) =>
      this.log('warn', msg),
    );
    this.sessions.set(id, session);
    this.slots.reduce((a, b) => (b.length < a.length ? b : a)).push(session);
    this.startTicking();
    return { endpoint: id, port: pair.port };
  }

  private session(id: string): RtpSession {
    const s = this.sessions.get(id);
    if (!s) throw new Error(`media endpoint ${id} is closed`);
    return s;
  }

  configure(id: string, negotiated: Negotiated): void {
    this.session(id).configure(negotiated);
  }

  play(id: string, source: MediaSource): void {
    this.session(id).play(source);
  }

  stats(id: string): MediaEndpointStats {
    return this.session(id).stats();
  }

  async close(id: string): Promise<void> {
    const s = this.sessions.get(id);
    if (!s) return;
    if (s.mixer) this.leave(s.mixer, id);
    this.sessions.delete(id);
    for (const slot of this.slots) {
      const i = slot.indexOf(s);
      if (i >= 0) slot.splice(i, 1);
    }
    await s.close();
    this.allocator.release(s.portPair);
    if (this.sessions.size === 0) this.stopTicking();
  }

  join(mixer: string, id: string): void {
    const s = this.session(id);
    if (s.mixer && s.mixer !== mixer) this.leave(s.mixer, id);
    let members = this.mixers.get(mixer);
    if (!members) this.mixers.set(mixer, (members = new Set()));
    members.add(s);
    s.joinMixer(mixer);
  }

  leave(mixer: string, id: string): void {
    const s = this.sessions.get(id);
    const members = this.mixers.get(mixer);
    if (!s || !members?.delete(s)) return;
    s.leaveMixer();
    s.play({ kind: 'silence' });
  }

  closeMixer(mixer: string): void {
    for (const s of [...(this.mixers.get(mixer) ?? [])]) this.leave(mixer, s.id);
    this.mixers.delete(mixer);
  }

  diagnostics(): WorkerDiagnostics {
    const recent = this.lateness.slice(0, Math.min(this.latenessCount, this.lateness.length)).sort();
    this.latenessCount = 0;
    return {
      endpoints: this.sessions.size,
      threadCpuMs: threadCpuMs(),
      ticks: this.ticks,
      lateTicks: this.lateTicks,
      tickLatenessP99Ms: recent.length > 0 ? recent[Math.floor(recent.length * 0.99)] : 0,
    };
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.close(id)));
    this.stopTicking();
  }

  private startTicking(): void {
    if (this.timer) return;
    this.epoch = performance.now();
    this.slotIndex = 0;
    this.schedule();
  }

  private stopTicking(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const due = this.epoch + this.slotIndex * SLOT_MS;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, due - performance.now()));
  }

  private onTimer(): void {
    let now = performance.now();
    if (now - (this.epoch + this.slotIndex * SLOT_MS) > RESYNC_MS) {
      // Restart from now with the slot that is due, so each session keeps its place.
      this.slotIndex %= SLOTS;
      this.epoch = now - this.slotIndex * SLOT_MS;
    }
    // Catch up (at most RESYNC_MS of slots) so that 50 frames leave per second on average.
    while (this.epoch + this.slotIndex * SLOT_MS <= now) {
      const late = now - (this.epoch + this.slotIndex * SLOT_MS);
      this.lateness[this.latenessCount++ % this.lateness.length] = late;
      if (late > 5) this.lateTicks++;
      this.tick(this.slotIndex % SLOTS, now);
      this.slotIndex++;
      now = performance.now();
    }
    if (this.sessions.size > 0) this.schedule();
    else this.timer = undefined;
  }

  private readonly mixIn: Int16Array[] = [];

  /** One slot: the mixers (slot 0), then the frame of each session of the slot that is not mixed. */
  private tick(slot: number, now: number): void {
    this.ticks++;
    if (slot === 0) {
      for (const members of this.mixers.values()) {
        if (members.size > 0) this.mixTick(members);
      }
    }
    for (const s of this.slots[slot]) {
      if (!s.mixer && s.wantsFrame) {
        try {
          s.sendSource();
        } catch (e) {
          this.log('warn', `${s.label}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      s.advance(now);
    }
  }

  private mixTick(members: Set<RtpSession>): void {
    const list = [...members];
    while (this.mixIn.length < list.length) this.mixIn.push(new Int16Array(FRAME_SAMPLES));
    const inputs = this.mixIn.slice(0, list.length);
    list.forEach((s, i) => s.takeFrame(inputs[i]));
    const outputs = mixFrames(inputs);
    list.forEach((s, i) => {
      if (!s.wantsFrame) return;
      const encoded = new Uint8Array(FRAME_SAMPLES);
      s.law.encode(outputs[i], encoded);
      s.sendEncoded(encoded);
    });
  }
}
