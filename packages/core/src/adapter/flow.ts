/**
 * Flow control helpers: a counting semaphore, an abortable delay, exponential backoff.
 * @module
 */

/** A counting semaphore: at most `permits` holders at once, waiters served in order. */
export class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(permits: number) {
    if (!(permits >= 1)) throw new RangeError(`a semaphore needs at least 1 permit, got ${permits}`);
    this.#free = permits;
  }

  /** Permits free now. */
  get free(): number {
    return this.#free;
  }

  /** Holders waiting for a permit. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Wait for a permit; call the returned function once to give it back. */
  async acquire(): Promise<() => void> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
  }

  /** Run `fn` holding a permit. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

/** Resolve after `ms`, or reject with the signal's reason once it aborts. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Options of {@link backoff}. */
export interface BackoffOptions {
  /** First delay. @default 100 */
  readonly initialMs?: number;
  /** Largest delay. @default 5000 */
  readonly maxMs?: number;
  /** Growth per step. @default 2 */
  readonly multiplier?: number;
  /** Share of each delay taken off at random (0..1). @default 0.2 */
  readonly jitter?: number;
  readonly random?: () => number;
}

/** An endless sequence of reconnect/retry delays: exponential, capped, jittered. */
export function* backoff(options: BackoffOptions = {}): Generator<number, never, undefined> {
  const initial = options.initialMs ?? 100;
  const max = options.maxMs ?? 5_000;
  const multiplier = options.multiplier ?? 2;
  const jitter = options.jitter ?? 0.2;
  const random = options.random ?? Math.random;
  for (let step = 0; ; step++) {
    const base = Math.min(max, initial * multiplier ** step);
    yield Math.round(base * (1 - jitter * random()));
  }
}
