import { describeConformance } from "@omnibus/conformance";
import { brokerUrl, proxyHarness, restartHarness } from "@omnibus/conformance/brokers";
import { afterAll } from "vitest";
import { rabbitmq } from "../src/index.js";
import { trackingAdapters } from "./tracked.js";

const url = brokerUrl("rabbitmq");

// Default configuration: quorum queues.
const quorum = trackingAdapters(() => rabbitmq({ url }));
describeConformance({
  name: "rabbitmq",
  adapter: quorum.wrap,
  unreachable: (password) =>
    rabbitmq({ url: `amqp://guest:${encodeURIComponent(password)}@127.0.0.1:1`, connectTimeoutMs: 2000 }),
  restart: restartHarness("rabbitmq", (privateUrl) => rabbitmq({ url: privateUrl })),
  // Through the proxy, tracked like the others so that the cleanup below deletes its queues.
  proxy: proxyHarness(url, (address) =>
    quorum.with(() => rabbitmq({ url: `amqp://guest:guest@${address}` })).wrap(),
  ),
});

// Classic queues with priorities: the same suite, plus the priority case. Classic queues only
// flag a redelivery; the consumer renumbers such deliveries so that attempts stay exact.
const classic = trackingAdapters(() => rabbitmq({ url, maxPriority: 9 }));
describeConformance({
  name: "rabbitmq (classic, maxPriority 9)",
  adapter: classic.wrap,
  unreachable: (password) =>
    rabbitmq({
      url: `amqp://guest:${encodeURIComponent(password)}@127.0.0.1:1`,
      connectTimeoutMs: 2000,
      maxPriority: 9,
    }),
});

afterAll(async () => {
  await quorum.cleanup(url);
  await classic.cleanup(url);
}, 60_000);
