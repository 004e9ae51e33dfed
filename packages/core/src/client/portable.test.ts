import { describe, expect, it } from "vitest";
import { ClosedError, ConfigError, ErrorCode } from "../errors.js";
import type { Adapter } from "../spi.js";
import { portable } from "./portable.js";

const raw = (overrides: Partial<Adapter> = {}): Adapter => ({
  name: "raw",
  features: {
    persistent: false,
    fanout: false,
    orderingByKey: false,
    delay: false,
    maxDelayMs: 0,
    priority: false,
    maxPriority: 0,
    maxMessageBytes: 100,
    maxBatchSize: 10,
  },
  native: { client: 1 },
  connect: async () => {},
  send: async () => {},
  consume: async () => ({ stop: async () => {}, close: async () => {} }),
  close: async () => {},
  ...overrides,
});

describe("portable", () => {
  it("fails every call after close() with ClosedError, and closes the adapter once", async () => {
    let closes = 0;
    const a = portable(raw({ close: async () => void closes++ }));
    await Promise.all([a.close(), a.close()]);
    expect(closes).toBe(1);
    await expect(a.send({ kind: "queue", name: "q" }, [])).rejects.toBeInstanceOf(ClosedError);
    await expect(a.connect()).rejects.toMatchObject({ code: ErrorCode.Closed });
  });
  it("names the adapter in every error and turns raw ones into typed errors with the cause kept", async () => {
    const cause = new TypeError("socket hang up");
    const a = portable(
      raw({
        send: async () => {
          throw cause;
        },
        connect: () => {
          throw new ConfigError("bad option");
        },
      }),
    );
    await expect(a.send({ kind: "queue", name: "q" }, [])).rejects.toMatchObject({
      code: ErrorCode.Publish,
      message: "raw: TypeError: socket hang up",
      cause,
    });
    await expect(a.connect()).rejects.toMatchObject({ code: ErrorCode.Config, message: "raw: bad option" });
    expect(a.native).toEqual({ client: 1 });
  });
});
