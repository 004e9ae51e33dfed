import { inspect } from "node:util";
import { ConfigError } from "@omnibus/core";
import { describe, expect, it } from "vitest";
import { resolveOptions, resolveUrl } from "./options.js";

describe("options", () => {
  it("fills every default", () => {
    const o = resolveOptions();
    expect(o).toMatchObject({
      queueType: "classic",
      maxPriority: 0,
      singleActiveConsumer: false,
      maxMessageBytes: 16 * 1024 * 1024,
      maxBatchSize: 1000,
      connectTimeoutMs: 10_000,
      sendWaitMs: 10_000,
      sendTimeoutMs: 30_000,
      operationTimeoutMs: 15_000,
      closeTimeoutMs: 5_000,
      reconnect: { initialDelayMs: 100, maxDelayMs: 1000, giveUpAfterMs: Number.POSITIVE_INFINITY },
      namespace: "omnibus",
    });
    expect(o.url).toBe("amqp://guest:guest@127.0.0.1:5672?heartbeat=30");
    expect(o.safeUrl).toBe("amqp://guest:***@127.0.0.1:5672?heartbeat=30");
  });

  it("classic by default (with priorities too); quorum on request, but not with priorities", () => {
    expect(resolveOptions({ maxPriority: 5 }).queueType).toBe("classic");
    expect(resolveOptions({ queueType: "quorum" }).queueType).toBe("quorum");
    expect(() => resolveOptions({ maxPriority: 5, queueType: "quorum" })).toThrow(ConfigError);
    expect(() => resolveOptions({ maxPriority: 256 })).toThrow(ConfigError);
  });

  it("reads a cluster's nodes as hosts or as whole URLs, and masks every password", () => {
    expect(resolveOptions({ url: "amqp://u:p@h1:1,h2:2/vh?frameMax=8192" }).urls).toEqual([
      "amqp://u:p@h1:1/vh?frameMax=8192&heartbeat=30",
      "amqp://u:p@h2:2/vh?frameMax=8192&heartbeat=30",
    ]);
    const o = resolveOptions({ url: "amqp://a:s3cret@h1:1,amqps://b:s3cret@h2:2" });
    expect(o.urls).toEqual(["amqp://a:s3cret@h1:1?heartbeat=30", "amqps://b:s3cret@h2:2?heartbeat=30"]);
    expect(o.url).toBe(o.urls[0]);
    expect(o.safeUrl).not.toContain("s3cret");
    expect(() => resolveOptions({ url: "amqp://h1:1,amqp://" })).toThrow(ConfigError);
  });

  it("rejects a non-integer heartbeat, frameMax or channelMax in the URL with ConfigError (not at connect)", () => {
    for (const url of [
      "amqp://127.0.0.1:5672?heartbeat=abc",
      "amqp://h/vh?frameMax=1.5",
      "amqp://u:SECRET@h/vh?channelMax=-1",
      "amqp://h?heartbeat=70000",
      "amqp://h?heartbeat=",
    ]) {
      expect(() => resolveUrl(url, 30), url).toThrowError(ConfigError);
      expect(() => resolveUrl(url, 30), url).not.toThrowError(/SECRET/);
    }
    expect(resolveUrl("amqp://h?heartbeat=0&frameMax=131072&channelMax=10", 30)).toBe(
      "amqp://h?heartbeat=0&frameMax=131072&channelMax=10",
    );
  });

  it("keeps a heartbeat given in the URL and adds one otherwise", () => {
    expect(resolveUrl("amqp://h/vh?heartbeat=5", 30)).toBe("amqp://h/vh?heartbeat=5");
    expect(resolveUrl("amqps://h:5671/%2F?frameMax=8192", 10)).toBe(
      "amqps://h:5671/%2F?frameMax=8192&heartbeat=10",
    );
  });

  it("rejects bad URLs and options with ConfigError, never showing the password", () => {
    for (const url of ["http://h", "amqp://", "nonsense", "amqp://u:p@"]) {
      expect(() => resolveOptions({ url }), url).toThrow(ConfigError);
    }
    try {
      resolveOptions({ url: "amqp://user:hunter2@" });
    } catch (error) {
      expect((error as Error).message).not.toContain("hunter2");
    }
    expect(() => resolveOptions({ maxBatchSize: 0 })).toThrow(ConfigError);
    for (const name of ["sendTimeoutMs", "operationTimeoutMs", "closeTimeoutMs"]) {
      expect(() => resolveOptions({ [name]: 0 }), name).toThrow(ConfigError);
      expect(() => resolveOptions({ [name]: Number.POSITIVE_INFINITY }), name).toThrow(ConfigError);
    }
    expect(() => resolveOptions({ namespace: "amq.x" })).toThrow(ConfigError);
    expect(() => resolveOptions({ reconnect: { initialDelayMs: -1 } })).toThrow(ConfigError);
    expect(resolveOptions({ reconnect: false }).reconnect).toBe(false);
  });
});

/** Everything printable in an error: own properties (hidden too) and the cause chain. */
function everything(error: unknown, depth = 0): string {
  if (error === null || typeof error !== "object" || depth > 6) return String(error);
  const parts = [inspect(error, { showHidden: true, depth: 8 })];
  for (const key of Reflect.ownKeys(error)) {
    parts.push(String(key), everything((error as Record<PropertyKey, unknown>)[key], depth + 1));
  }
  return parts.join("\n");
}

describe("a bad URL never leaks its password", () => {
  it("holds it in no message, property or cause", async () => {
    const { fromUrl } = await import("./adapter.js");
    const urls = [
      "amqp://user:SECRET@host:99999",
      "amqp://user:SECRET@host:99999/vh?heartbeat=5",
      "amqp://user:SECRET@[::1",
      "amqps://user:SECRET@host:-1",
    ];
    const cases = [
      ...urls.flatMap((url) => [() => resolveOptions({ url }), () => fromUrl(url)]),
      () => fromUrl("amqp://user:SECRET@host/vh?maxPriority=%zz"), // a malformed escape in the query
    ];
    for (const [i, make] of cases.entries()) {
      let error: unknown;
      try {
        make();
      } catch (e) {
        error = e;
      }
      expect(error, `case ${i}`).toBeInstanceOf(ConfigError);
      expect(everything(error), `case ${i}`).not.toContain("SECRET");
    }
  });
});

describe("options in the URL", async () => {
  const { splitUrlOptions, fromUrl } = await import("./adapter.js");
  it("takes the adapter's options out of the query and leaves amqplib's", () => {
    expect(
      splitUrlOptions(
        "amqp://u:p@h:5672/vh?queueType=classic&maxPriority=9&heartbeat=5&singleActiveConsumer=true",
      ),
    ).toEqual({
      url: "amqp://u:p@h:5672/vh?heartbeat=5",
      options: { queueType: "classic", maxPriority: 9, singleActiveConsumer: true },
    });
    expect(splitUrlOptions("amqp://h")).toEqual({ url: "amqp://h", options: {} });
    expect(fromUrl("amqp://h?maxPriority=4").features).toMatchObject({ priority: true, maxPriority: 4 });
    expect(fromUrl("amqp://h?maxPriority=4", { maxPriority: 2 }).features.maxPriority).toBe(2);
  });

  it("rejects bad values with ConfigError", () => {
    expect(() => fromUrl("amqp://h?maxPriority=lots")).toThrow(ConfigError);
    expect(() => fromUrl("amqp://h?singleActiveConsumer=yes")).toThrow(ConfigError);
    expect(() => fromUrl("amqp://h?queueType=stream")).toThrow(ConfigError);
  });
});
