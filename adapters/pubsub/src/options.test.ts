import { isOmnibusError } from "@omnibus/core";
import { describe, expect, it } from "vitest";
import { resolveOptions } from "./options.js";

describe("pubsub options", () => {
  it("reads the project and the emulator host from the URL; options win", () => {
    const o = resolveOptions({ url: "pubsub://my-proj?emulatorHost=127.0.0.1:8085&leaseMs=2000" });
    expect(o.projectId).toBe("my-proj");
    expect(o.emulatorHost).toBe("127.0.0.1:8085");
    expect(o.leaseMs).toBe(2000);
    expect(resolveOptions({ url: "pubsub://my-proj?leaseMs=2000", leaseMs: 5000 }).leaseMs).toBe(5000);
  });

  it("falls back to PUBSUB_EMULATOR_HOST", () => {
    const saved = process.env.PUBSUB_EMULATOR_HOST;
    process.env.PUBSUB_EMULATOR_HOST = "localhost:9999";
    try {
      expect(resolveOptions({ url: "pubsub://p1" }).emulatorHost).toBe("localhost:9999");
    } finally {
      if (saved === undefined) delete process.env.PUBSUB_EMULATOR_HOST;
      else process.env.PUBSUB_EMULATOR_HOST = saved;
    }
  });

  it("rejects bad input with OMNIBUS_CONFIG", () => {
    for (const bad of [
      { url: "pubsub://Bad_Project" },
      { url: "nats://x" },
      { url: "pubsub://p?nope=1" },
      { leaseMs: 10 },
      { maxDeliveryAttempts: 1 },
      { emulatorHost: "no-port" },
      { bogus: 1 } as never,
    ]) {
      let error: unknown;
      try {
        resolveOptions(bad);
      } catch (e) {
        error = e;
      }
      expect(isOmnibusError(error, "OMNIBUS_CONFIG"), JSON.stringify(bad)).toBe(true);
    }
  });
});
