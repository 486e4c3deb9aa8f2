/**
 * The built-in {@link MediaServer}: a proxy on the main thread over the media worker. SDP is
 * written and read here (media-sdp.ts); the worker gets only the outcome and does all the RTP.
 */
import type { Logger } from '../../util/logger.js';
import type { MediaEndpoint, MediaEndpointStats, MediaMixer, MediaServer, MediaSource } from '../media-server.js';
import { answerSdp, EndpointOrigin, offerSdp, readAnswer, type Negotiated } from './media-sdp.js';
import type { MediaWorkerHost } from './worker-host.js';
import type { OpenResult, WorkerDiagnostics } from './worker-protocol.js';

class BuiltinEndpoint implements MediaEndpoint {
  private readonly origin: EndpointOrigin;
  private closed = false;

  constructor(
    private readonly server: BuiltinMediaServer,
    private readonly workerId: string,
    readonly generation: number,
    readonly port: number,
    readonly label: string,
    private readonly address: string,
  ) {
    this.origin = new EndpointOrigin(address);
  }

  get id(): string {
    return `${this.generation}.${this.workerId}`;
  }

  private call<T extends Parameters<MediaWorkerHost['request']>[0]>(request: T): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error(`media endpoint ${this.id} (${this.label}) is closed`));
    if (this.generation !== this.server.host.generation)
      return Promise.reject(
        new Error(`media endpoint ${this.id} (${this.label}) was lost when the media worker restarted`),
      );
    return this.server.host.request(request);
  }

  private async configure(negotiated: Negotiated): Promise<void> {
    await this.call({ op: 'configure', endpoint: this.workerId, negotiated });
  }

  createOffer(): Promise<string> {
    return Promise.resolve(offerSdp(this.origin.next(), this.address, this.port));
  }

  async answer(offer: string | Buffer): Promise<string> {
    const { sdp, negotiated } = answerSdp(offer, this.origin.next(), this.address, this.port);
    await this.configure(negotiated);
    return sdp;
  }

  async acceptAnswer(answer: string | Buffer): Promise<void> {
    await this.configure(readAnswer(answer));
  }

  async play(source: MediaSource): Promise<void> {
    await this.call({ op: 'play', endpoint: this.workerId, source });
  }

  async stats(): Promise<MediaEndpointStats> {
    return (await this.call({ op: 'stats', endpoint: this.workerId })) as MediaEndpointStats;
  }

  /** Used by the mixer. */
  workerEndpoint(): string {
    return this.workerId;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.server.forget(this);
    if (this.generation !== this.server.host.generation) return;
    try {
      await this.server.host.request({ op: 'close', endpoint: this.workerId });
    } catch {
      // the worker died meanwhile: the endpoint is gone with it
    }
  }
}

class BuiltinMixer implements MediaMixer {
  private closed = false;
  constructor(
    private readonly host: MediaWorkerHost,
    readonly id: string,
  ) {}

  private endpointOf(endpoint: MediaEndpoint): BuiltinEndpoint {
    if (!(endpoint instanceof BuiltinEndpoint)) throw new Error('not an endpoint of the built-in media server');
    return endpoint;
  }

  async join(endpoint: MediaEndpoint): Promise<void> {
    if (this.closed) throw new Error(`mixer ${this.id} is closed`);
    await this.host.request({ op: 'join', mixer: this.id, endpoint: this.endpointOf(endpoint).workerEndpoint() });
  }

  async leave(endpoint: MediaEndpoint): Promise<void> {
    await this.host.request({ op: 'leave', mixer: this.id, endpoint: this.endpointOf(endpoint).workerEndpoint() });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.host.request({ op: 'close-mixer', mixer: this.id }).catch(() => undefined);
  }
}

/** The built-in media server (see docs/media.md). */
export class BuiltinMediaServer implements MediaServer {
  private readonly endpoints = new Set<BuiltinEndpoint>();
  private nextMixer = 1;

  constructor(
    /** The worker proxy. */
    readonly host: MediaWorkerHost,
    /** The address put in SDP (`media-address`). */
    readonly address: string,
    private readonly logger: Logger,
  ) {}

  get openEndpoints(): number {
    return this.endpoints.size;
  }

  async createEndpoint(label = 'endpoint'): Promise<MediaEndpoint> {
    const generation = this.host.generation;
    const r = await this.host.request<OpenResult>({ op: 'open', label });
    const ep = new BuiltinEndpoint(this, r.endpoint, generation, r.port, label, this.address);
    this.endpoints.add(ep);
    this.logger.debug({ endpoint: ep.id, port: r.port, label }, 'media endpoint opened');
    return ep;
  }

  createMixer(): Promise<MediaMixer> {
    return Promise.resolve(new BuiltinMixer(this.host, `x${this.nextMixer++}`));
  }

  /** Called by the host when the worker restarted: its endpoints are gone. */
  workerRestarted(): void {
    this.endpoints.clear();
  }

  /** @internal an endpoint closed. */
  forget(ep: BuiltinEndpoint): void {
    this.endpoints.delete(ep);
  }

  /** Resolves when the worker answers a request (it has loaded); rejects if it cannot start. */
  async ready(): Promise<void> {
    await this.diagnostics();
  }

  /** The worker's own figures (CPU time of its thread, ticks). */
  diagnostics(): Promise<WorkerDiagnostics> {
    return this.host.request<WorkerDiagnostics>({ op: 'diagnostics' });
  }

  /** Times the worker died and was restarted. */
  get workerRestarts(): number {
    return this.host.restarts;
  }

  /**
   * Test hook: make the worker throw an uncaught exception. Rejects (the request is pending when
   * the worker dies), as every request in flight then does.
   */
  async crashWorkerForTest(): Promise<void> {
    await this.host.request({ op: 'crash' });
  }

  async close(): Promise<void> {
    this.endpoints.clear();
    await this.host.close();
  }
}
