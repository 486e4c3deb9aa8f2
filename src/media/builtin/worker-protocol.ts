/**
 * Messages between the main thread (the {@link MediaServer} proxy) and the media worker: every
 * request has an id and gets exactly one response with that id; the worker also sends log lines.
 */
import type { MediaEndpointStats, MediaSource } from '../media-server.js';
import type { Negotiated } from './media-sdp.js';

/** What the worker is started with (`workerData`). */
export interface WorkerSettings {
  /** Address the RTP/RTCP sockets bind to. */
  readonly bindAddress: string;
  /** Even RTP ports are taken from `[portMin, portMax]`; RTCP is RTP + 1. */
  readonly portMin: number;
  readonly portMax: number;
  /** One ringback cadence cycle, 8 kHz PCM. */
  readonly ringback: Int16Array;
  /** The music-on-hold file decoded to 8 kHz PCM, if configured. */
  readonly music: Int16Array | undefined;
  /** RTCP CNAME (RFC 3550 §6.5.1). */
  readonly cname: string;
}

/** The requests the worker serves. */
export type WorkerRequest =
  | { op: 'open'; label: string }
  | { op: 'configure'; endpoint: string; negotiated: Negotiated }
  | { op: 'play'; endpoint: string; source: MediaSource }
  | { op: 'stats'; endpoint: string }
  | { op: 'close'; endpoint: string }
  | { op: 'join'; mixer: string; endpoint: string }
  | { op: 'leave'; mixer: string; endpoint: string }
  | { op: 'close-mixer'; mixer: string }
  | { op: 'diagnostics' }
  | { op: 'crash' }
  | { op: 'shutdown' };

/** Results by request kind. */
export interface OpenResult {
  readonly endpoint: string;
  readonly port: number;
}

/** What the worker says about itself (benchmarks, tests). */
export interface WorkerDiagnostics {
  readonly endpoints: number;
  /** CPU time of the worker thread, ms (from /proc/thread-self; undefined elsewhere). */
  readonly threadCpuMs: number | undefined;
  /** Slots run (4 per 20 ms tick, docs/media.md), and slots that started more than 5 ms late. */
  readonly ticks: number;
  readonly lateTicks: number;
  /** 99th percentile of how late the slots since the previous diagnostics started (the last 12,000 at most), ms. */
  readonly tickLatenessP99Ms: number;
}

export type WorkerResult = OpenResult | MediaEndpointStats | WorkerDiagnostics | undefined | void;

/** Main → worker. */
export interface RequestMessage {
  readonly id: number;
  readonly request: WorkerRequest;
}

/** Worker → main. */
export type WorkerMessage =
  | { readonly id: number; readonly ok: true; readonly result: WorkerResult }
  | { readonly id: number; readonly ok: false; readonly error: { name: string; message: string } }
  | { readonly log: { level: 'info' | 'warn' | 'error'; msg: string; [key: string]: unknown } };
