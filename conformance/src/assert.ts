/**
 * Assertions of the conformance cases. Each failure says in words what was expected and what
 * came, so that an adapter author reads the report, not the case's source. The cases do not use
 * vitest's `expect`: they run the same under vitest, under the CLI and under the fault scorer.
 * @module
 */
import { inspect, isDeepStrictEqual } from "node:util";

/** A case's assertion failed: the adapter did something the SPI or the client API forbids. */
export class ConformanceFailure extends Error {
  override readonly name = "ConformanceFailure";
}

/** Fail the case with `message`. */
export function fail(message: string): never {
  throw new ConformanceFailure(message);
}

/** Fail with `message` unless `condition` holds. */
export function check(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) fail(typeof message === "function" ? message() : message);
}

/** A short printable form of a value for failure messages. */
export function show(value: unknown, max = 200): string {
  let text: string;
  if (value instanceof Uint8Array) {
    const head = Buffer.from(value.subarray(0, 16)).toString("hex");
    text = `${value.byteLength} bytes (${head}${value.byteLength > 16 ? "…" : ""})`;
  } else if (typeof value === "string") {
    text = JSON.stringify(value);
  } else {
    text = inspect(value, { depth: 4, breakLength: Number.POSITIVE_INFINITY, maxStringLength: max });
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Deep equality: `what` names the thing compared ("the body of message 3"). */
export function equal<T>(actual: T, expected: T, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

/** Byte-for-byte equality, naming the first differing offset. */
export function sameBytes(actual: Uint8Array | undefined, expected: Uint8Array, what: string): void {
  check(
    actual instanceof Uint8Array,
    () => `${what}: expected ${expected.byteLength} bytes, got ${show(actual)}`,
  );
  if (actual.byteLength !== expected.byteLength)
    fail(`${what}: expected ${expected.byteLength} bytes, got ${actual.byteLength}`);
  for (let i = 0; i < expected.byteLength; i++) {
    if (actual[i] !== expected[i])
      fail(
        `${what}: byte ${i} of ${expected.byteLength} differs (expected ${expected[i]}, got ${actual[i]})`,
      );
  }
}

/** The two-way set difference of ids, with duplicates. */
export function idDifference(
  expected: Iterable<string>,
  actual: Iterable<string>,
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

function list(ids: readonly string[]): string {
  return ids.length <= 3 ? ids.join(", ") : `${ids.slice(0, 3).join(", ")} and ${ids.length - 3} more`;
}

/** Describe a set difference in words ("3 missing (a, b, c), 1 duplicated (d)"), or "" if none. */
export function describeDifference(diff: ReturnType<typeof idDifference>, allowDuplicates = false): string {
  const parts: string[] = [];
  if (diff.missing.length) parts.push(`${diff.missing.length} missing (${list(diff.missing)})`);
  if (diff.unexpected.length) parts.push(`${diff.unexpected.length} unexpected (${list(diff.unexpected)})`);
  if (!allowDuplicates && diff.duplicates.length)
    parts.push(`${diff.duplicates.length} delivered more than once (${list([...new Set(diff.duplicates)])})`);
  return parts.join(", ");
}

/**
 * Every expected id exactly once in `actual`, nothing else: proved by a two-way set difference.
 * With `allowDuplicates`, ids may repeat (at-least-once after a failure) but none may be missing
 * or unexpected.
 */
export function sameIds(
  actual: Iterable<string>,
  expected: Iterable<string>,
  what: string,
  options: { allowDuplicates?: boolean } = {},
): void {
  const problem = describeDifference(idDifference(expected, actual), options.allowDuplicates);
  if (problem) fail(`${what}: ${problem}`);
}

/** `value` is within `[min, max]`; `what` names it and `unit` follows the numbers. */
export function within(value: number, min: number, max: number, what: string, unit = "ms"): void {
  if (value < min || value > max)
    fail(`${what}: expected between ${min} and ${max} ${unit}, got ${value} ${unit}`);
}

/** The error's `code`, or undefined. */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * `promise` rejects with one of `codes` within `withinMs`; returns the error. A promise that
 * resolves, rejects with another code, or stays pending fails the case with what happened.
 */
export async function rejectsWith(
  promise: Promise<unknown>,
  codes: readonly string[],
  what: string,
  withinMs = 30_000,
): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    promise.then(
      (value) => ({ kind: "resolved" as const, value }),
      (error: unknown) => ({ kind: "rejected" as const, error }),
    ),
    new Promise<{ kind: "pending" }>((resolve) => {
      timer = setTimeout(() => resolve({ kind: "pending" }), withinMs);
    }),
  ]);
  clearTimeout(timer);
  const expected = codes.length === 1 ? codes[0] : `one of ${codes.join(", ")}`;
  if (outcome.kind === "pending")
    fail(`${what}: expected a rejection with ${expected} within ${withinMs} ms; still pending`);
  if (outcome.kind === "resolved")
    fail(`${what}: expected a rejection with ${expected}; it resolved with ${show(outcome.value)}`);
  const code = codeOf(outcome.error);
  if (code === undefined || !codes.includes(code))
    fail(`${what}: expected a rejection with ${expected}; got ${show(outcome.error, 400)}`);
  return outcome.error;
}

/** Same as {@link rejectsWith} for a function that may throw synchronously. */
export async function failsWith(
  fn: () => unknown,
  codes: readonly string[],
  what: string,
  withinMs = 30_000,
): Promise<unknown> {
  let promise: Promise<unknown>;
  try {
    promise = Promise.resolve(fn());
  } catch (error) {
    promise = Promise.reject(error);
  }
  return rejectsWith(promise, codes, what, withinMs);
}

/** Resolves within `withinMs` (or fails the case, saying what was pending). */
export async function settlesWithin<T>(promise: Promise<T>, withinMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const pending = Symbol("pending");
  const result = await Promise.race([
    promise,
    new Promise<typeof pending>((resolve) => {
      timer = setTimeout(() => resolve(pending), withinMs);
    }),
  ]).finally(() => clearTimeout(timer));
  if (result === pending) fail(`${what}: did not settle within ${withinMs} ms`);
  return result as T;
}

/**
 * Timers and clocks (the test's, the broker's, Node's cached loop time) may disagree by a few
 * milliseconds; "no sooner than" allows that much and no more.
 */
export const CLOCK_SLACK_MS = 5;

/** `elapsedMs` is no sooner than `delayMs` (less the clock slack) and no later than `latestMs`. */
export function afterDelay(elapsedMs: number, delayMs: number, latestMs: number, what: string): void {
  if (elapsedMs < delayMs - CLOCK_SLACK_MS)
    fail(`${what}: expected no sooner than ${delayMs} ms, got ${elapsedMs} ms (too soon)`);
  if (elapsedMs > latestMs)
    fail(`${what}: expected no later than ${latestMs} ms, got ${elapsedMs} ms (too late)`);
}
