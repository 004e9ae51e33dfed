/** `createClient({ url: "redis://…" })`: core finds this package by the URL scheme and calls `fromUrl`. */

import { brokerUrl } from "@omnibus/brokers";
import { createClient, shortId, silentLogger } from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { Redis } from "ioredis";
import { expect, it } from "vitest";

it("a redis:// URL, with adapter options as query parameters", async () => {
  const base = brokerUrl("redis");
  const url = `${base}${base.includes("?") ? "&" : "?"}prefix=omnibus-url&claimIdleMs=2000`;
  const bus = createClient({ url, logger: silentLogger });
  const queue = `url-${shortId()}`;
  const got: unknown[] = [];
  await bus.consume(queue, (m) => {
    got.push(m.body);
  });
  await bus.send(queue, { hello: "redis" });
  await waitFor(() => got.length === 1);
  expect(got).toEqual([{ hello: "redis" }]);
  await bus.close();
  const admin = new Redis(base);
  const key = `omnibus-url:{q:${queue}}:stream`;
  expect(await admin.exists(key)).toBe(1);
  await admin.del(key);
  admin.disconnect();
});

it("a URL whose database is not a number fails at createClient with ConfigError, and nothing crashes later", () => {
  // ioredis sent SELECT NaN; Redis's error came back unhandled and ended the process (exit code 1).
  const base = brokerUrl("redis").replace(/\/\d*(\?.*)?$/, "");
  expect(() => createClient({ url: `${base}/notadb`, logger: silentLogger })).toThrowError(
    expect.objectContaining({ code: "OMNIBUS_CONFIG" }),
  );
});
