import { describeConformance } from "@omnibus/conformance";
import { brokerUrl } from "@omnibus/conformance/brokers";
import { afterAll } from "vitest";
import { rabbitmq } from "../src/index.js";
import { trackingAdapters } from "./tracked.js";

const url = brokerUrl("rabbitmq");

// Default configuration: quorum queues.
const quorum = trackingAdapters(() => rabbitmq({ url }));
describeConformance({
  name: "rabbitmq",
  adapter: quorum.wrap,
  unreachable: () => rabbitmq({ url: "amqp://guest:guest@127.0.0.1:1", connectTimeoutMs: 2000 }),
});

// Classic queues with priorities: the same suite, plus the priority case; attempts after a
// crash come from the `redelivered` flag here.
const classic = trackingAdapters(() => rabbitmq({ url, maxPriority: 9 }));
describeConformance({
  name: "rabbitmq (classic, maxPriority 9)",
  adapter: classic.wrap,
});

afterAll(async () => {
  await quorum.cleanup(url);
  await classic.cleanup(url);
}, 60_000);
