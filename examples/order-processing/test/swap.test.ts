// The promise of Omnibus: the same services, unchanged, on every broker — only the URL differs.
import { brokerUrl } from "@omnibus/brokers";
import { describe, expect, it } from "vitest";
import { type FlowSummary, runOrderFlow } from "../src/index.js";

const expected: FlowSummary = {
  ordersPlaced: 10,
  quotes: 10,
  stockReserved: 10,
  duplicatesDropped: 1,
  shipped: 10,
  emailed: 9,
  deadLettered: 1,
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
  postgres: () => brokerUrl("postgres"),
};

describe("order processing runs unchanged on every broker", () => {
  for (const [name, url] of Object.entries(urls)) {
    it(name, async () => {
      const summary = await runOrderFlow({ url: url(), timeoutMs: 90_000 });
      expect(summary).toEqual(expected);
    }, 120_000);
  }
});
