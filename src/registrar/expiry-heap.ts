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
  private readonly items: ExpiryEntry[] = [];

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
      const t = a[p];
      a[p] = a[i];
      a[i] = t;
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
      this.siftDown(0);
    }
    return top;
  }

  /** Keep only the entries `keep` accepts (drops stale ones, bounding memory), in place: O(n). */
  compact(keep: (e: ExpiryEntry) => boolean): void {
    // In place: the kept entries first, then sifted down into a heap again (Floyd).
    const a = this.items;
    let n = 0;
    for (let i = 0; i < a.length; i++) if (keep(a[i])) a[n++] = a[i];
    a.length = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** Move the entry at `start` down until no child expires earlier. */
  private siftDown(start: number): void {
    const a = this.items;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && a[l].at < a[m].at) m = l;
      if (r < a.length && a[r].at < a[m].at) m = r;
      if (m === i) return;
      const t = a[m];
      a[m] = a[i];
      a[i] = t;
      i = m;
    }
  }
}
