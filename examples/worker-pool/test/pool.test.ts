import { brokerUrl } from "@omnibus/brokers";
import { describe, expect, it } from "vitest";
import { runWorkerPool } from "../src/index.js";

const urls: Record<string, () => string> = {
  memory: () => "memory://pool-test",
  rabbitmq: () => brokerUrl("rabbitmq"),
  nats: () => brokerUrl("nats"),
  redis: () => brokerUrl("redis"),
};

describe("a burst of jobs is spread over the pool, each handled once", () => {
  for (const [name, url] of Object.entries(urls)) {
    it(name, async () => {
      const report = await runWorkerPool({ url: url(), jobs: 300, workers: 4, workMs: 3 });
      expect(report.handled).toBe(300);
      expect(report.duplicates).toBe(0);
      expect(report.perWorker.reduce((a, b) => a + b, 0)).toBe(300);
      expect(
        report.perWorker.filter((n) => n > 0).length,
        `per worker: ${report.perWorker}`,
      ).toBeGreaterThanOrEqual(3);
    }, 90_000);
  }
});
