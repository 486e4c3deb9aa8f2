/**
 * The product's example configurations (`examples/*.yaml`) as the end-to-end tests run them:
 * unchanged except for their fixed loopback ports (SIP and HTTP listen addresses, softswitch
 * contacts such as 127.0.0.1:5071 / 127.0.0.1:5081), each mapped to a port free on this machine
 * (bind-to-0 probing, see {@link freePort}). A test never depends on 5060, 5071, 5081 or 8080
 * being free, and two tests never share a port.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { examplesDir } from './paths.js';
import { freePort } from './ports.js';

/** `127.0.0.1:PORT` in a configuration text (listen entries `udp:127.0.0.1:5060`, contacts, HTTP). */
const LOOPBACK_ADDRESS = /(?<![\d.])127\.0\.0\.1:(\d{1,5})(?!\d)/g;

/** An example configuration with its fixed ports mapped to free ones. */
export interface MappedConfig {
  /** The example's own text (`examples/NAME`, unchanged). */
  readonly source: string;
  /**
   * The example's fixed port → the free port that replaces it (one entry per distinct port). A
   * caller may move an entry to another free port (a peer that lost the race for it) before
   * writing {@link text}.
   */
  readonly ports: Map<number, number>;
  /** The configuration text to write: {@link source} with every fixed port replaced by its entry in {@link ports}. */
  readonly text: string;
}

/** The text of `examples/NAME`. */
export function exampleText(name: string): string {
  return readFileSync(join(examplesDir, name), 'utf8');
}

/** The fixed loopback ports `text` uses, each once, in order of appearance. */
export function loopbackPorts(text: string): number[] {
  return [...new Set([...text.matchAll(LOOPBACK_ADDRESS)].map((m) => Number(m[1])))];
}

/** `text` with every `127.0.0.1:PORT` whose port is in `ports` rewritten to the mapped port. */
export function applyPorts(text: string, ports: ReadonlyMap<number, number>): string {
  return text.replace(LOOPBACK_ADDRESS, (all, port: string) => {
    const to = ports.get(Number(port));
    return to === undefined ? all : `127.0.0.1:${to}`;
  });
}

/** A free port not among `taken`. */
export async function freePortBesides(taken: Iterable<number>): Promise<number> {
  const avoid = new Set(taken);
  for (let i = 0; i < 20; i++) {
    const p = await freePort();
    if (!avoid.has(p)) return p;
  }
  throw new Error(`no free port besides ${[...avoid].join(', ')}`);
}

/**
 * `examples/NAME` with each of its fixed loopback ports mapped to a distinct free port: the
 * configuration text to write, and the port map (fixed → free) the test addresses its peers by.
 */
export async function exampleWithFreePorts(name: string): Promise<MappedConfig> {
  const source = exampleText(name);
  const ports = new Map<number, number>();
  for (const fixed of loopbackPorts(source)) ports.set(fixed, await freePortBesides(ports.values()));
  return {
    source,
    ports,
    get text() {
      return applyPorts(source, ports);
    },
  };
}
