import { ConfigError } from "./errors.js";

/** How a consumer retries a failed message. */
export interface RetryOptions {
  /**
   * Deliveries in all, the first included; after the last failure the message is dead-lettered.
   * @default 5
   */
  maxAttempts?: number;
  /** Delay before the second attempt. @default 200 */
  initialDelayMs?: number;
  /** Growth factor per attempt. @default 2 */
  multiplier?: number;
  /** Largest delay. @default 30000 */
  maxDelayMs?: number;
  /**
   * Random share taken off each delay (0 = none, 1 = "full jitter"), so that retries of many
   * failed messages do not arrive together. @default 0.2
   */
  jitter?: number;
}

/** {@link RetryOptions} with every field set. */
export type RetryPolicy = Required<RetryOptions>;

/** The policy used when a consumer gives none. */
export const defaultRetryPolicy: RetryPolicy = Object.freeze({
  maxAttempts: 5,
  initialDelayMs: 200,
  multiplier: 2,
  maxDelayMs: 30_000,
  jitter: 0.2,
});

/** Fill in and check a retry policy. */
export function resolveRetryPolicy(options: RetryOptions | undefined): RetryPolicy {
  const policy = { ...defaultRetryPolicy, ...stripUndefined(options ?? {}) };
  const positive = (name: keyof RetryPolicy, min: number) => {
    const value = policy[name];
    if (typeof value !== "number" || Number.isNaN(value) || value < min) {
      throw new ConfigError(`retry.${name} must be a number >= ${min}, got ${String(value)}`);
    }
  };
  positive("maxAttempts", 1);
  positive("initialDelayMs", 0);
  positive("multiplier", 1);
  positive("maxDelayMs", 0);
  positive("jitter", 0);
  if (policy.jitter > 1) throw new ConfigError(`retry.jitter must be within 0..1, got ${policy.jitter}`);
  return policy;
}

/**
 * Delay before the attempt after `attempt` (1-based): exponential, capped, with jitter.
 * `random` is injectable for tests.
 */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const exponential = policy.initialDelayMs * policy.multiplier ** Math.max(0, attempt - 1);
  const capped = Math.min(policy.maxDelayMs, exponential);
  return Math.round(capped * (1 - policy.jitter * random()));
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
