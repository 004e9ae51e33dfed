/**
 * Group commit: one write in flight per key; what arrives meanwhile is gathered and goes in the
 * next write. The batchers of the Kafka sender, the Redis sender and acker are this shape.
 * @module
 */

/** Options of {@link GroupCommit}. */
export interface GroupCommitOptions<K, V> {
  /** Most items in one write. @default 1000 */
  readonly maxItems?: number;
  /** Most bytes in one write (with `size`). @default Infinity */
  readonly maxBytes?: number;
  /** An item's size in bytes, for `maxBytes`. */
  readonly size?: (item: V) => number;
  /** Write a batch of `key`; resolves when the broker has it, rejects for the whole batch. */
  readonly write: (key: K, items: readonly V[]) => Promise<void>;
}

interface Pending<V> {
  readonly item: V;
  resolve(): void;
  reject(error: unknown): void;
}

/** Gathers items per key while a write of that key is in flight. */
export class GroupCommit<K, V> {
  readonly #o: Required<Omit<GroupCommitOptions<K, V>, "size">> & Pick<GroupCommitOptions<K, V>, "size">;
  readonly #queues = new Map<K, Pending<V>[]>();
  readonly #busy = new Set<K>();

  constructor(options: GroupCommitOptions<K, V>) {
    this.#o = { maxItems: 1000, maxBytes: Number.POSITIVE_INFINITY, ...options };
  }

  /** Items waiting for a write (not counting those being written). */
  get pending(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.length;
    return n;
  }

  /** Add items of `key`; resolves once the write that carried them succeeded. */
  add(key: K, items: readonly V[]): Promise<void> {
    const promises = items.map(
      (item) =>
        new Promise<void>((resolve, reject) => {
          let q = this.#queues.get(key);
          if (!q) this.#queues.set(key, (q = []));
          q.push({ item, resolve, reject });
        }),
    );
    this.#drain(key);
    return Promise.all(promises).then(() => undefined);
  }

  #drain(key: K): void {
    if (this.#busy.has(key)) return;
    const q = this.#queues.get(key);
    if (!q || q.length === 0) return;
    let bytes = 0;
    let n = 0;
    while (n < q.length && n < this.#o.maxItems) {
      const size = this.#o.size?.(q[n]!.item) ?? 0;
      if (n > 0 && bytes + size > this.#o.maxBytes) break;
      bytes += size;
      n++;
    }
    const batch = q.splice(0, n);
    if (q.length === 0) this.#queues.delete(key);
    this.#busy.add(key);
    this.#o
      .write(
        key,
        batch.map((p) => p.item),
      )
      .then(
        () => {
          for (const p of batch) p.resolve();
        },
        (error: unknown) => {
          for (const p of batch) p.reject(error);
        },
      )
      .finally(() => {
        this.#busy.delete(key);
        this.#drain(key);
      });
  }
}
