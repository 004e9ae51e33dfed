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
