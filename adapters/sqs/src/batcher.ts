interface Entry<T> {
  readonly item: T;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Collects items per key and hands them to `flush` in groups of at most `max`: as soon as a
 * group is full, else `delayMs` after its first item. `flush` returns, per item, an error or
 * undefined; each `add` promise settles with its item's outcome.
 */
export class Batcher<T> {
  readonly #pending = new Map<string, { entries: Entry<T>[]; timer: NodeJS.Timeout | undefined }>();
  readonly #inflight = new Set<Promise<void>>();

  constructor(
    private readonly flush: (key: string, items: T[]) => Promise<(unknown | undefined)[]>,
    private readonly max: number,
    private readonly delayMs: number,
  ) {}

  add(key: string, item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let group = this.#pending.get(key);
      if (!group) {
        group = { entries: [], timer: undefined };
        this.#pending.set(key, group);
      }
      group.entries.push({ item, resolve, reject });
      if (group.entries.length >= this.max) this.#send(key);
      else if (group.timer === undefined) {
        group.timer = setTimeout(() => this.#send(key), this.delayMs);
      }
    });
  }

  #send(key: string): void {
    const group = this.#pending.get(key);
    if (!group) return;
    this.#pending.delete(key);
    if (group.timer !== undefined) clearTimeout(group.timer);
    const entries = group.entries;
    for (let i = 0; i < entries.length; i += this.max) {
      const slice = entries.slice(i, i + this.max);
      const run = this.flush(
        key,
        slice.map((e) => e.item),
      ).then(
        (outcomes) => {
          slice.forEach((e, j) => {
            const error = outcomes[j];
            if (error === undefined) e.resolve();
            else e.reject(error);
          });
        },
        (error: unknown) => {
          for (const e of slice) e.reject(error);
        },
      );
      this.#inflight.add(run);
      void run.finally(() => this.#inflight.delete(run));
    }
  }

  /** Send everything pending now and wait for every batch in flight. */
  async drain(): Promise<void> {
    for (const key of [...this.#pending.keys()]) this.#send(key);
    await Promise.allSettled([...this.#inflight]);
  }
}
