// The promise of Omnibus: the same services, unchanged, on every broker — only the URL differs.
import { absentReason, brokerUrl } from "@omnibus/brokers";
import { createClient, deadLetterQueueFor, silentLogger } from "@omnibus/core";
import { describe, expect, it } from "vitest";
import { type FlowSummary, runOrderFlow } from "../src/index.js";

/** What the flow declares on a broker, deleted after each run: a test leaves nothing behind. */
async function deleteShop(url: string): Promise<void> {
  const bus = createClient({ url, logger: silentLogger });
  try {
    for (const queue of [
      "shop.orders",
      "shop.pricing",
      deadLetterQueueFor({ kind: "topic", name: "shop.order-placed", group: "email" }),
    ])
      await bus.deleteQueue(queue);
    await bus.deleteTopic("shop.order-placed"); // with its groups (shipping, email)
  } finally {
    await bus.close();
  }
}

const expected: FlowSummary = {
  ordersPlaced: 10,
  quotes: 10,
  stockReserved: 10,
  duplicatesDropped: 1,
  shipped: 10,
  emailed: 9,
  deadLettered: 1,
  // The 2 MiB order form of the first order, over SQS's, NATS's and Kafka's limits: through the
  // claim check, byte for byte, and its payload deleted once inventory acked it.
  attachmentsIntact: 1,
  payloadsLeft: 0,
};

const kafkaBrokers = () => brokerUrl("kafka");
const urls: Record<string, () => string> = {
  memory: () => "memory://swap-test",
  rabbitmq: () => brokerUrl("rabbitmq"),
  kafka: () => `kafka://${kafkaBrokers()}`,
  sqs: () => {
    const sqs = new URL(brokerUrl("sns"));
    return `sqs://${sqs.host}?endpoint=${encodeURIComponent(sqs.origin)}&sns=${encodeURIComponent(sqs.origin)}&region=us-east-1`;
  },
  nats: () => brokerUrl("nats"),
  redis: () => brokerUrl("redis"),
  pubsub: () => `pubsub://omnibus?emulatorHost=${brokerUrl("pubsub")}`,
  // The broker tool gives Artemis as amqp://; the adapter's scheme is activemq://.
  activemq: () => brokerUrl("activemq").replace(/^amqp:/, "activemq:"),
  postgres: () => brokerUrl("postgres"),
};

// The Pub/Sub emulator is the one broker the tool cannot install: where it is absent, skipped with why.
const pubsubAbsent = await absentReason("pubsub");

describe("order processing runs unchanged on every broker", () => {
  for (const [name, url] of Object.entries(urls)) {
    const absent = name === "pubsub" ? pubsubAbsent : undefined;
    it.skipIf(absent !== undefined)(
      absent ? `${name} (skipped: ${absent})` : name,
      async () => {
        try {
          const summary = await runOrderFlow({ url: url(), timeoutMs: 90_000 });
          expect(summary).toEqual(expected);
        } finally {
          await deleteShop(url());
        }
      },
      120_000,
    );
  }
});
