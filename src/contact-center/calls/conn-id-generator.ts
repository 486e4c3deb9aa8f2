/**
 * ConnIDs: the T-Library call identifier, 16 hex digits, unique per call (interfaces §4).
 */
import { randomBytes } from 'node:crypto';

/** Generates ConnIDs: 6 random hex digits fixed per process then a 10-digit counter (unique within a process, unlikely to repeat across restarts). */
export class ConnIdGenerator {
  private readonly prefix: string;
  private counter: number;

  constructor(seed: Buffer = randomBytes(6)) {
    this.prefix = seed.toString('hex').slice(0, 6);
    this.counter = seed.readUIntBE(0, 4) % 0x10000;
  }

  /** A new ConnID, e.g. `00a3f1000001e4c2`. */
  next(): string {
    this.counter = (this.counter + 1) % 0x10000000000;
    return this.prefix + this.counter.toString(16).padStart(10, '0');
  }
}
