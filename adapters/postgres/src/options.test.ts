import { ErrorCode } from "@omnibus/core";
import { describe, expect, it } from "vitest";
import { poolConfig } from "./adapter.js";
import { fromUrl, postgres } from "./index.js";
import { resolveOptions } from "./options.js";

describe("resolveOptions", () => {
  it("fills every default", () => {
    expect(resolveOptions({})).toMatchObject({
      schema: "omnibus",
      leaseMs: 30_000,
      pollMs: 1_000,
      poolSize: 10,
      orderingByKey: true,
      connection: { host: "127.0.0.1", port: 5432, user: "postgres", database: "postgres", params: {} },
    });
  });

  it("reads the URL: credentials, database, its own parameters, and others for pg", () => {
    const o = resolveOptions({
      url: "postgresql://app:s%40cret@db.local:6543/orders?schema=bus&leaseMs=5000&sslmode=require",
      leaseMs: 7_000,
    });
    expect(o).toMatchObject({
      schema: "bus",
      leaseMs: 7_000, // an explicit option wins over the URL
      connection: {
        host: "db.local",
        port: 6543,
        user: "app",
        password: "s@cret",
        database: "orders",
        params: { sslmode: "require" },
      },
    });
    expect(poolConfig(o, 3).connectionString).toBe(
      "postgres://app:s%40cret@db.local:6543/orders?sslmode=require",
    );
  });

  it.each([
    { url: "http://x" },
    { url: "postgres://h:99999/db" },
    { schema: "Bad-Name" },
    { leaseMs: 10 },
    { poolSize: 0 },
    { nope: true },
    { url: "postgres://h/db?leaseMs=soon" },
  ])("rejects %j with a ConfigError", (options) => {
    expect(() => resolveOptions(options as never)).toThrowError(
      expect.objectContaining({ code: ErrorCode.Config }),
    );
  });

  it("never shows the password of a bad URL", () => {
    expect(() => resolveOptions({ url: "postgres://bob:hunter2@h:99999/db" })).toThrowError(
      expect.objectContaining({ message: expect.not.stringContaining("hunter2") }),
    );
  });

  it("declares features from the options", () => {
    expect(postgres().features).toMatchObject({
      persistent: true,
      fanout: true,
      orderingByKey: true,
      delay: true,
      priority: true,
    });
    expect(fromUrl("postgres://h/db?orderingByKey=false").features.orderingByKey).toBe(false);
  });
});
