import { randomUUID } from "node:crypto";
import { startPrivate } from "@omnibus/brokers";
import type { Delivery, OutboundMessage } from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { expect, it } from "vitest";
import { sqs } from "../src/index.js";

const message = (text: string): OutboundMessage => ({
  id: randomUUID(),
  body: new TextEncoder().encode(text),
  headers: {},
  timestamp: Date.now(),
});

// Both local servers (ElasticMQ as the broker tool runs it, fauxqs) keep everything in memory: a
// restart loses queues, topics, subscriptions and messages. What must survive is the adapter: its
// consumers keep polling through the outage, declare their queue (and a group's topic and
// subscription) again and resume; sends declare their destination again too. A private fauxqs
// (SNS + SQS, starts in a second) shows it for queues and topic groups alike.
it("a private SNS+SQS server restarts: consumers re-declare queue, topic and subscription and resume", async () => {
  await using broker = await startPrivate("sns");
  const adapter = sqs({
    endpoint: broker.url,
    sns: broker.url,
    visibilityTimeoutSeconds: 5,
    persistent: false,
  });
  const errors: Error[] = [];
  const got: string[] = [];
  const options = {
    prefetch: 10,
    onDelivery: (d: Delivery) => {
      got.push(Buffer.from(d.message.body).toString());
      void d.ack().catch(() => {}); // an ack cut off by the restart: at-least-once, it may come again
    },
    onError: (e: Error) => errors.push(e),
  };
  const queue = await adapter.consume({ kind: "queue", name: "restart.q" }, options);
  const group = await adapter.consume({ kind: "topic", name: "restart.t", group: "g" }, options);
  try {
    await adapter.send({ kind: "queue", name: "restart.q" }, [message("queue before")]);
    await adapter.send({ kind: "topic", name: "restart.t" }, [message("topic before")]);
    await waitFor(() => got.includes("queue before") && got.includes("topic before"), { timeoutMs: 15_000 });

    await broker.restart();

    await adapter.send({ kind: "queue", name: "restart.q" }, [message("queue after")]);
    // Until the group's consumer has subscribed again, a publish reaches no group (and is dropped,
    // as with any publish-subscribe system): publish until one arrives.
    let n = 0;
    await waitFor(
      async () => {
        if (got.some((text) => text.startsWith("topic after"))) return true;
        await adapter.send({ kind: "topic", name: "restart.t" }, [message(`topic after ${n++}`)]);
        return false;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    await waitFor(() => got.includes("queue after"), { timeoutMs: 30_000 });
    expect(errors).toEqual([]);
  } finally {
    for (const handle of [queue, group]) {
      await handle.stop();
      await handle.close();
    }
    await adapter.close();
  }
}, 60_000);
