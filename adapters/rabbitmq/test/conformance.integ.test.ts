import { brokerUrl, proxyHarness, rabbitmqTestUser, restartHarness } from "@omnibus/brokers";
import { allCases, describeConformance, runCases } from "@omnibus/conformance";
import { afterAll, describe, expect, it } from "vitest";
import { rabbitmq } from "../src/index.js";
import { trackingAdapters } from "./tracked.js";

const url = brokerUrl("rabbitmq");
// A user of its own with the test password (guest's is not one to search for), for secrets-live.
const live = await rabbitmqTestUser(url);
if (live.password === undefined) console.warn(`rabbitmq: no test user, secrets-live skipped: ${live.reason}`);

// Default configuration: classic durable queues. Classic queues only flag a redelivery; the
// consumer renumbers such deliveries so that attempts stay exact.
const defaults = trackingAdapters(() => rabbitmq({ url: live.url }));
describeConformance({
  concurrency: 4, // cases overlap (the restart and cut cases run alone)
  name: "rabbitmq",
  adapter: defaults.wrap,
  password: live.password,
  unreachable: (password) =>
    rabbitmq({ url: `amqp://guest:${encodeURIComponent(password)}@127.0.0.1:1`, connectTimeoutMs: 2000 }),
  restart: restartHarness("rabbitmq", (privateUrl) => rabbitmq({ url: privateUrl })),
  // Through the proxy, tracked like the others so that the cleanup below deletes its queues.
  proxy: proxyHarness(url, (address) =>
    defaults.with(() => rabbitmq({ url: live.url.replace(/@[^/?]+/, `@${address}`) })).wrap(),
  ),
});

// Quorum queues on request (x-delivery-count, at-least-once dead-lettering of wait queues). The
// suite's restart case restarts gracefully before it kills, which a quorum queue survives.
const quorum = trackingAdapters(() => rabbitmq({ url, queueType: "quorum" }));
describeConformance({
  concurrency: 4, // cases overlap (the restart and cut cases run alone)
  name: "rabbitmq (quorum)",
  adapter: quorum.wrap,
  restart: restartHarness("rabbitmq", (privateUrl) => rabbitmq({ url: privateUrl, queueType: "quorum" })),
});

// Classic queues with priorities: the same suite, plus the priority case.
const classic = trackingAdapters(() => rabbitmq({ url, maxPriority: 9 }));
describeConformance({
  concurrency: 4, // cases overlap (the restart and cut cases run alone)
  name: "rabbitmq (classic, maxPriority 9)",
  adapter: classic.wrap,
  unreachable: (password) =>
    rabbitmq({
      url: `amqp://guest:${encodeURIComponent(password)}@127.0.0.1:1`,
      connectTimeoutMs: 2000,
      maxPriority: 9,
    }),
});

// Issue 16: a message just under a configured limit is dead-lettered on its first failure (the
// dead-letter copy's headers once pushed it over the limit: the DLQ send failed and core retried it
// every second, forever).
describe("conformance: rabbitmq with maxMessageBytes 10,000", () => {
  it("client/dead-letter-near-limit passes", { timeout: 90_000 }, async () => {
    const results = await runCases(
      {
        name: "rabbitmq (maxMessageBytes 10000)",
        adapter: () => defaults.with(() => rabbitmq({ url, maxMessageBytes: 10_000 })).wrap(),
      },
      { cases: allCases.filter((c) => c.id === "client/dead-letter-near-limit") },
    );
    expect(results.map((r) => `${r.id} ${r.status}${r.status === "passed" ? "" : `: ${r.message}`}`)).toEqual(
      ["client/dead-letter-near-limit passed"],
    );
  });
});

afterAll(async () => {
  await defaults.cleanup(url);
  await quorum.cleanup(url);
  await classic.cleanup(url);
}, 60_000);
