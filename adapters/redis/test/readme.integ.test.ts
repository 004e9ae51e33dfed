/** The README's examples, run against the real server (keep them in sync). */

import { brokerUrl } from "@omnibus/brokers";
import { createClient, idempotency, shortId, silentLogger } from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { expect, it } from "vitest";
import { redis, redisIdempotencyStore } from "../src/index.js";

it("README: adapter, delayed send, idempotency store, escape hatch", async () => {
  const url = brokerUrl("redis");
  const orders: unknown[] = [];
  const queue = `orders-${shortId()}`; // "orders" in the README
  // --- README example start
  const adapter = redis({ url, claimIdleMs: 10_000, logger: silentLogger });
  const store = redisIdempotencyStore({ client: adapter.native.client, prefix: "orders:seen:" });
  const bus = createClient({ adapter, use: [idempotency({ store })], logger: silentLogger });

  await bus.consume(queue, async (msg) => {
    orders.push(msg.body);
  });
  await bus.send(queue, { sku: "A-1", qty: 2 }, { key: "customer-7", delayMs: 200 });

  // The escape hatch: the ioredis clients.
  const { client } = adapter.native;
  const pending = await client.xpending(`omnibus:{q:${queue}}:stream`, "omnibus");
  // --- README example end
  expect(Array.isArray(pending)).toBe(true);
  await waitFor(() => orders.length === 1, { timeoutMs: 5000 });
  expect(orders).toEqual([{ sku: "A-1", qty: 2 }]);
  await bus.close();
  const cleanup = redis({ url, logger: silentLogger });
  await cleanup.connect();
  await cleanup.deleteQueue!(queue);
  const seen = await cleanup.native.client.keys("orders:seen:*");
  if (seen.length > 0) await cleanup.native.client.del(...seen);
  await cleanup.close();
});
