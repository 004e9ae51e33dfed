import { randomUUID } from "node:crypto";
import { createClient, type Subscription, silentLogger } from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { describe, expect, it } from "vitest";
import { envLines, omnibusUrls } from "./up.js";

// `pnpm brokers env` prints an Omnibus URL per adapter: each one opens a working client.
describe("omnibus URLs of the brokers", () => {
  it("envLines ends with them", () => {
    expect(envLines().join("\n")).toMatch(/# Omnibus URLs[\s\S]*kafka:\/\/[\s\S]*sqs:\/\/.*\?sns=/);
  });
  for (const [adapter, url] of Object.entries(omnibusUrls())) {
    it(`${adapter}: ${url.replace(/:[^:@/]*@/, ":***@")} sends and receives`, {
      timeout: 60_000,
    }, async () => {
      const bus = createClient({ url, logger: silentLogger });
      const queue = `urls-${randomUUID().slice(0, 8)}`;
      let subscription: Subscription | undefined;
      try {
        const got: string[] = [];
        subscription = await bus.consume(queue, (m) => {
          got.push(m.id);
        });
        const id = await bus.send(queue, { hello: adapter });
        await waitFor(() => got.includes(id), { timeoutMs: 30_000 });
      } finally {
        // Its consumer first: Kafka keeps a consumer group that still has a member.
        await subscription?.close();
        await bus.deleteQueue(queue).catch(() => {});
        await bus.close();
      }
    });
  }
});
