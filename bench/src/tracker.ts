import type { Progress } from "./types.js";

/** A run that did not get every message: the bench reports it instead of a number. */
export class LossError extends Error {
  override readonly name = "LossError";
  constructor(
    readonly missing: number,
    readonly duplicates: number,
    readonly total: number,
  ) {
    super(`lost ${missing} of ${total} messages (${duplicates} duplicate deliveries)`);
  }
}

/**
 * Counts what a consumer handled, by id: a bitmap proves every id 0..total-1 arrived (a set, not
 * a count), duplicates are counted apart. `done` resolves when the last missing id arrives, and
 * rejects with a {@link LossError} when `deadlineMs` passes with ids still missing.
 */
export class Tracker {
  readonly #seen: Uint8Array;
  #unique = 0;
  #duplicates = 0;
  #lastAt = 0;
  #resolve!: () => void;
  #timer: NodeJS.Timeout | undefined;
  readonly done: Promise<void>;
  /** Send-to-handler latency of each id (ms), NaN until it arrived. */
  readonly latency: Float64Array;

  constructor(
    readonly total: number,
    private readonly progress?: Progress,
  ) {
    this.#seen = new Uint8Array(total);
    this.latency = new Float64Array(total).fill(Number.NaN);
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    if (total === 0) this.#resolve();
  }

  /** Start the deadline: call once sending is under way. */
  arm(deadlineMs: number): Promise<void> {
    return Promise.race([
      this.done,
      new Promise<void>((_, reject) => {
        this.#timer = setTimeout(() => reject(this.lossError()), deadlineMs);
        this.#timer.unref();
      }),
    ]).finally(() => clearTimeout(this.#timer));
  }

  /** Record message `i`; `sentAt` (performance.now() ms) adds a latency sample. */
  add(i: number, sentAt?: number): void {
    if (!(i >= 0 && i < this.total) || this.#seen[i] === 1) {
      this.#duplicates++;
      return;
    }
    const at = performance.now();
    if (sentAt !== undefined) this.latency[i] = at - sentAt;
    this.#seen[i] = 1;
    this.#unique++;
    this.#lastAt = at;
    if ((this.#unique & 255) === 0) this.progress?.(this.#unique, this.total);
    if (this.#unique === this.total) this.#resolve();
  }

  get unique(): number {
    return this.#unique;
  }
  get duplicates(): number {
    return this.#duplicates;
  }
  /** performance.now() of the last new id. */
  get lastAt(): number {
    return this.#lastAt;
  }

  /** Latencies of ids from `from` on (the ones before were the warm-up). */
  latenciesFrom(from: number): number[] {
    return Array.from(this.latency.subarray(from)).filter((x) => !Number.isNaN(x));
  }

  lossError(): LossError {
    return new LossError(this.total - this.#unique, this.#duplicates, this.total);
  }
}

/** Sends `total` items in windows of `window`: `sendWindow(from, to)` resolves once the broker confirmed them. */
export async function windows(
  total: number,
  window: number,
  sendWindow: (from: number, to: number) => Promise<void>,
  progress?: Progress,
): Promise<void> {
  for (let from = 0; from < total; from += window) {
    const to = Math.min(total, from + window);
    await sendWindow(from, to);
    progress?.(to, total);
  }
}

/**
 * Calls `send(from, to)` with the messages due at `rate` messages per second for `seconds` (a
 * due count every 2 ms tick, so no drift). Resolves with the number sent once the last was handed over.
 */
export function paced(
  rate: number,
  seconds: number,
  send: (from: number, to: number) => void,
  progress?: Progress,
): Promise<number> {
  const total = Math.max(1, Math.round(rate * seconds));
  return new Promise((resolve) => {
    const start = performance.now();
    let sent = 0;
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
      if (sent < due) {
        send(sent, due);
        sent = due;
      }
      progress?.(sent, total);
      if (sent >= total) {
        clearInterval(timer);
        resolve(total);
      }
    };
    const timer = setInterval(tick, 2);
    tick();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
