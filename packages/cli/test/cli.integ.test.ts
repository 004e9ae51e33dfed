// `omnibus dlq replay` moves every dead-lettered message back to its queue (by set difference),
// and `omnibus stats --watch` reads a real broker.
import { omnibusUrls } from "@omnibus/brokers";
import { createClient, DeadLetterError, shortId, silentLogger } from "@omnibus/core";
import { setDifference, waitFor } from "@omnibus/core/testing";
import { describe, expect, it } from "vitest";
import { omnibus } from "./helpers.js";

const urls = omnibusUrls(["rabbitmq", "redis"]);

describe.each([
  ["redis", urls.redis!],
  ["rabbitmq", urls.rabbitmq!],
])("omnibus on %s", (_name, url) => {
  it("dlq replay sends every dead letter back to its queue, once, with the replay counted", async () => {
    const queue = `cli-replay-${shortId()}`;
    const bus = createClient({ url, logger: silentLogger });
    try {
      let replaying = false;
      const back: { id: string; replays: string | undefined; attempt: number }[] = [];
      await bus.consume(queue, (m) => {
        if (!replaying) throw new DeadLetterError("downstream was down");
        back.push({ id: m.id, replays: m.headers["omnibus-replays"], attempt: m.attempt });
      });
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push(await bus.send(queue, { i }));
      await waitFor(async () => (await bus.stats(queue)).deadLetters === 20, { timeoutMs: 30_000 });

      const dry = await omnibus(["dlq", "replay", url, queue, "--dry-run", "--json"]);
      expect(dry.code).toBe(0);
      expect(dry.json()[0]).toMatchObject({ dryRun: true, wouldReplay: 20, replayed: 0 });
      await waitFor(async () => (await bus.stats(queue)).deadLetters === 20, { timeoutMs: 30_000 });

      replaying = true;
      const ran = await omnibus(["dlq", "replay", url, queue, "--json"]);
      expect(ran.code, ran.stderr).toBe(0);
      expect(ran.json()[0]).toMatchObject({ replayed: 20, failed: 0, skipped: 0 });
      await waitFor(() => back.length >= 20, { timeoutMs: 30_000 });
      const got = back.map((b) => b.id);
      const diff = setDifference(ids, got);
      expect(diff.missing).toEqual([]);
      expect(diff.unexpected).toEqual([]);
      expect(diff.duplicates).toEqual([]);
      expect(back.every((b) => b.replays === "1" && b.attempt === 1)).toBe(true);
      await waitFor(async () => (await bus.stats(queue)).deadLetters === 0, { timeoutMs: 30_000 });

      const watched = await omnibus([
        "stats",
        url,
        queue,
        "--watch",
        "--interval",
        "50",
        "--count",
        "2",
        "--json",
      ]);
      expect(watched.code).toBe(0);
      expect(watched.json().map((r) => [r.name, r.lag, r.deadLetters])).toEqual([
        [queue, 0, 0],
        [queue, 0, 0],
      ]);
      const password = new URL(url).password;
      if (password) {
        expect(watched.stdout).not.toContain(`:${password}@`);
        expect(watched.stdout).toContain(":***@");
      }
    } finally {
      await bus.deleteQueue(queue).catch(() => {});
      await bus.close();
    }
  }, 120_000);
});
