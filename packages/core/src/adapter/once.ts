/**
 * Promise memos that forget failures: connect once, declare a queue once, and try again after a
 * rejection instead of caching it.
 * @module
 */

/** `fn` run at most once at a time; a rejection is forgotten, so the next call tries again. */
export function once<T>(fn: () => Promise<T>): { (): Promise<T>; reset(): void } {
  let current: Promise<T> | undefined;
  const call = (): Promise<T> => {
    if (current === undefined) {
      const p = fn();
      current = p;
      p.catch(() => {
        if (current === p) current = undefined;
      });
    }
    return current;
  };
  return Object.assign(call, {
    reset() {
      current = undefined;
    },
  });
}

/** A memo of promises by key (declare-once caches); a rejected one is forgotten. */
export class OnceByKey<K, V> {
  readonly #values = new Map<K, Promise<V>>();

  /** The value for `key`, made by `make` on first use (or after a rejection). */
  get(key: K, make: () => Promise<V>): Promise<V> {
    let p = this.#values.get(key);
    if (p === undefined) {
      const made = make();
      p = made;
      this.#values.set(key, made);
      made.catch(() => {
        if (this.#values.get(key) === made) this.#values.delete(key);
      });
    }
    return p;
  }

  /** Forget `key` (the broker lost it, it was deleted). */
  forget(key: K): void {
    this.#values.delete(key);
  }

  /** Forget everything (after a reconnect). */
  clear(): void {
    this.#values.clear();
  }

  has(key: K): boolean {
    return this.#values.has(key);
  }
}
