import { describe, expect, it } from "vitest";
import { ErrorCode } from "./errors.js";
import { backoffDelay, defaultRetryPolicy, resolveRetryPolicy } from "./retry.js";

describe("backoff", () => {
  const policy = resolveRetryPolicy({ initialDelayMs: 100, multiplier: 2, maxDelayMs: 1000, jitter: 0 });
  it("grows exponentially from the initial delay and stops at the cap", () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(policy, a))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
  it("takes at most `jitter` of each delay off, at random", () => {
    const jittery = resolveRetryPolicy({ initialDelayMs: 1000, jitter: 0.5, maxDelayMs: 10_000 });
    expect(backoffDelay(jittery, 1, () => 0)).toBe(1000);
    expect(backoffDelay(jittery, 1, () => 0.999999)).toBe(500);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(jittery, 2);
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(2000);
    }
  });
  it("fills defaults and rejects nonsense with a config error", () => {
    expect(resolveRetryPolicy(undefined)).toEqual(defaultRetryPolicy);
    expect(resolveRetryPolicy({ maxAttempts: 2 }).maxAttempts).toBe(2);
    for (const bad of [
      { maxAttempts: 0 },
      { jitter: 2 },
      { multiplier: 0.5 },
      { initialDelayMs: -1 },
      { maxAttempts: Number.NaN },
    ]) {
      expect(() => resolveRetryPolicy(bad)).toThrowError(expect.objectContaining({ code: ErrorCode.Config }));
    }
  });
});
