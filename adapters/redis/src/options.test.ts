import { ConfigError } from "@omnibus/core";
import { describe, expect, it } from "vitest";
import { MAX_MESSAGE_BYTES_LIMIT, optionsFromUrl, resolveOptions } from "./options.js";

describe("options", () => {
  it("fills in defaults", () => {
    const o = resolveOptions();
    expect(o.url).toBe("redis://127.0.0.1:6379");
    expect(o.prefix).toBe("omnibus");
    expect(o.claimIdleMs).toBe(30_000);
    expect(o.claimIntervalMs).toBe(5000);
    expect(o.blockMs).toBe(2000);
    expect(o.trim).toBe("acked");
    expect(o.keepAcked).toBe(0);
    expect(o.persistent).toBe(false);
    expect(o.sendTimeoutMs).toBe(15_000);
    expect(o.connectTimeoutMs).toBe(10_000);
    expect(o.maxMessageBytes).toBe(16 * 1024 * 1024);
  });

  it("caps maxMessageBytes so that a message with the adapter's own fields fits one Redis value", () => {
    expect(resolveOptions({ maxMessageBytes: MAX_MESSAGE_BYTES_LIMIT }).maxMessageBytes).toBe(
      64 * 1024 * 1024,
    );
    expect(() => resolveOptions({ maxMessageBytes: MAX_MESSAGE_BYTES_LIMIT + 1 })).toThrowError(ConfigError);
    expect(() => resolveOptions({ sendTimeoutMs: 0 })).toThrowError(ConfigError);
  });

  it("derives the claim interval and block time from a small idle time", () => {
    const o = resolveOptions({ claimIdleMs: 400 });
    expect(o.claimIntervalMs).toBe(200);
    expect(o.blockMs).toBe(200);
  });

  it("rejects bad values with ConfigError, never echoing a password", () => {
    expect(() => resolveOptions({ claimIdleMs: -1 })).toThrowError(ConfigError);
    expect(() => resolveOptions({ prefix: "a{b" })).toThrowError(ConfigError);
    expect(() => resolveOptions({ trim: "sometimes" as never })).toThrowError(ConfigError);
    try {
      resolveOptions({ url: "amqp://u:s3cret@h" });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as Error).message).not.toContain("s3cret");
    }
  });

  it("takes adapter options from URL parameters and leaves the rest to ioredis", () => {
    const o = optionsFromUrl(
      "redis://:pw@h:6380/2?claimIdleMs=1000&prefix=app&trim=100&persistent=true&family=6",
    );
    expect(o).toMatchObject({ claimIdleMs: 1000, prefix: "app", trim: { keepAcked: 100 }, persistent: true });
    expect(o.url).toBe("redis://:pw@h:6380/2?family=6");
    expect(optionsFromUrl("rediss://h?trim=none").trim).toBe("none");
    expect(optionsFromUrl("redis://h?sendTimeoutMs=500&connectTimeoutMs=200")).toMatchObject({
      sendTimeoutMs: 500,
      connectTimeoutMs: 200,
    });
    expect(() => optionsFromUrl("redis://h?blockMs=x")).toThrowError(ConfigError);
  });

  it("rejects a database that is not a number (ioredis would send SELECT NaN, an unhandled error)", () => {
    for (const url of [
      "redis://127.0.0.1:6379/notadb",
      "redis://:SECRET@h/1x",
      "redis://h?db=abc",
      "redis://h/-1",
    ]) {
      expect(() => optionsFromUrl(url), url).toThrowError(ConfigError);
      expect(() => resolveOptions({ url }), url).toThrowError(/database must be a number/);
      expect(() => resolveOptions({ url }), url).not.toThrowError(/SECRET/);
    }
    expect(optionsFromUrl("redis://h:6379/3").url).toBe("redis://h:6379/3");
    expect(resolveOptions({ url: "redis://h:6379/" }).url).toBe("redis://h:6379/");
  });
});
