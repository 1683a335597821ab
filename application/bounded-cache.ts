// A least-recently-used map bounded by entries AND by (estimated) bytes, for the in-process caches
// (folded stream states, API-key lookups): under any traffic they hold at most `maxEntries` values
// and about `maxBytes` of them. `weigh` estimates a value's retained size; it must be cheap (it runs
// on every set). The entry set last is never evicted by its own weight: a single value larger than
// the budget stays alone, so the command using it is not made to reload it every time.

export interface CacheBounds {
  maxEntries: number;
  maxBytes: number;
}

export class BoundedCache<K, V> {
  private readonly entries = new Map<K, { value: V; bytes: number }>();
  private total = 0;

  constructor(
    private readonly bounds: CacheBounds,
    private readonly weigh: (value: V, key: K) => number,
  ) {}

  get size() {
    return this.entries.size;
  }

  /** estimated bytes held */
  get bytes() {
    return this.total;
  }

  /** the value, now the most recently used */
  get(key: K): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    this.entries.delete(key); // re-insert: Map order is the recency order
    this.entries.set(key, hit);
    return hit.value;
  }

  set(key: K, value: V): void {
    this.delete(key);
    const bytes = this.weigh(value, key);
    this.entries.set(key, { value, bytes });
    this.total += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size <= 1 || (this.entries.size <= this.bounds.maxEntries && this.total <= this.bounds.maxBytes)) break;
      this.entries.delete(oldest);
      this.total -= entry.bytes;
    }
  }

  delete(key: K): void {
    const hit = this.entries.get(key);
    if (!hit) return;
    this.entries.delete(key);
    this.total -= hit.bytes;
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }
}
