import { createClient, silentLogger } from "@omnibus/core";
import type { ConsumeMessage } from "amqplib";
import { expect, it } from "vitest";
import { rabbitmq } from "../src/index.js";
import { unique, url, waitFor } from "./helpers.js";

// The README's first snippet, with a unique queue name.
it("README snippet runs", async () => {
  const orders = unique("readme");
  const received: unknown[] = [];
  const deliveredTo: string[] = [];

  // --- README ---
  const adapter = rabbitmq({ url }); // e.g. "amqp://guest:guest@127.0.0.1:5672"
  const bus = createClient({ adapter, logger: silentLogger });

  await bus.consume(orders, async (msg) => {
    received.push(msg.body);
    const native = msg.native as ConsumeMessage; // amqplib's own message
    deliveredTo.push(native.fields.routingKey);
  });
  await bus.send(orders, { sku: "A-1", qty: 2 }, { key: "customer-7", delayMs: 200 });

  // The escape hatch: amqplib's connection and confirm channel.
  const { channel } = adapter.native;
  const { consumerCount } = await channel.checkQueue(orders);
  // --- end ---

  expect(consumerCount).toBe(1);
  await waitFor(() => received.length === 1);
  expect(received).toEqual([{ sku: "A-1", qty: 2 }]);
  expect(deliveredTo).toEqual([orders]);
  await bus.close();
  const cleanup = rabbitmq({ url });
  await cleanup.deleteQueue(orders);
  await cleanup.close();
});
