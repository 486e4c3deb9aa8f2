/** One scheduled expiry: `at` (Clock ms) and what expires. */
export interface ExpiryEntry {
  at: number;
  dn: string;
  key: string;
}

/**
 * Binary min-heap of expiry times, so that one Clock timer serves every binding (never one
 * timer per binding). Entries are lazily invalidated: the owner checks, on pop, whether the
 * binding still expires at that time.
 */
export class ExpiryHeap {
  private items: ExpiryEntry[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): ExpiryEntry | undefined {
    return this.items[0];
  }

  push(e: ExpiryEntry): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].at <= a[i].at) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }

  pop(): ExpiryEntry | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l].at < a[m].at) m = l;
        if (r < a.length && a[r].at < a[m].at) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }

  /** Rebuild keeping only entries `keep` accepts (drops stale ones, bounding memory). */
  compact(keep: (e: ExpiryEntry) => boolean): void {
    const old = this.items;
    this.items = [];
    for (const e of old) if (keep(e)) this.push(e);
  }
}
