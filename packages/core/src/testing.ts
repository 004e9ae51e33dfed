/**
 * Helpers for tests of Omnibus applications and adapters: wait on conditions with deadlines,
 * never on fixed sleeps.
 * @module
 */
import { randomUUID } from "node:crypto";
import type { OutboundMessage } from "./spi.js";

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long. @default 10000 */
  timeoutMs?: number;
  /** Poll interval. @default 10 */
  intervalMs?: number;
  /** Included in the timeout error. */
  message?: string | (() => string);
}

/**
 * Resolve once `condition()` returns a truthy value (which is returned); reject with a
 * descriptive error after the deadline.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 10;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() >= deadline) {
      const detail = typeof options.message === "function" ? options.message() : options.message;
      throw new Error(`condition not met within ${timeoutMs} ms${detail ? `: ${detail}` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Ids in `expected` but not in `actual`, and in `actual` but not in `expected`, and duplicates. */
export function setDifference(
  expected: Iterable<string>,
  actual: readonly string[],
): { missing: string[]; unexpected: string[]; duplicates: string[] } {
  const want = new Set(expected);
  const seen = new Set<string>();
  const duplicates: string[] = [];
  for (const id of actual) {
    if (seen.has(id)) duplicates.push(id);
    seen.add(id);
  }
  return {
    missing: [...want].filter((id) => !seen.has(id)),
    unexpected: [...seen].filter((id) => !want.has(id)),
    duplicates,
  };
}

/** A promise with its resolve and reject exposed. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  /** Fulfil `promise` with `value`. */
  resolve(value: T): void;
  /** Reject `promise` with `error`. */
  reject(error: unknown): void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * An outbound message as core hands it to an adapter (body "hello", fresh id, no headers), for
 * adapter tests that drive the SPI directly. `overrides` replace any field.
 */
export function outboundMessage(overrides: Partial<OutboundMessage> = {}): OutboundMessage {
  return {
    id: randomUUID(),
    body: new TextEncoder().encode("hello"),
    headers: {},
    timestamp: Date.now(),
    ...overrides,
  };
}

/**
 * A deterministic pseudo-random generator (mulberry32) of numbers in [0, 1): a property test
 * that fails can be replayed from its seed.
 * @example
 * const next = seededRandom(0x5eed);
 * const names = Array.from({ length: 3000 }, () => randomName(next, "..__--qt0Z"));
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A random destination name that core accepts (it never starts with `.` or `-` and never holds
 * `..`), for property tests of an adapter's name mapping: drawn from `alphabet` — repeat the
 * separators and spell pieces of the adapter's own mapped forms there, where collisions hide —
 * 60 % of them 1–12 characters long, the rest 1–200.
 */
export function randomName(next: () => number, alphabet: string): string {
  const length = next() < 0.6 ? 1 + Math.floor(next() * 12) : 1 + Math.floor(next() * 200);
  let n = "";
  while (n.length < length) {
    const c = alphabet[Math.floor(next() * alphabet.length)]!;
    if (n.length === 0 && (c === "." || c === "-")) continue;
    if (c === "." && n.endsWith(".")) continue;
    n += c;
  }
  return n;
}
