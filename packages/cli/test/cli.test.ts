// `omnibus` on the in-process memory broker: usage, exit codes, stats, the dlq commands.
import { createClient, DeadLetterError, shortId, silentLogger } from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { describe, expect, it } from "vitest";
import { omnibus } from "./helpers.js";

const url = "memory://cli";

async function deadLetters(queue: string, n: number): Promise<string[]> {
  const bus = createClient({ url, logger: silentLogger });
  const ids: string[] = [];
  await bus.consume(queue, () => {
    throw new DeadLetterError("bad order");
  });
  for (let i = 0; i < n; i++) ids.push(await bus.send(queue, { i }));
  await waitFor(async () => (await bus.stats(queue)).deadLetters === n);
  await bus.close();
  return ids;
}

describe("omnibus (memory)", () => {
  it("exits 2 on bad usage, 0 on --help", async () => {
    expect((await omnibus(["stats"])).code).toBe(2);
    expect((await omnibus(["frobnicate"])).code).toBe(2);
    expect((await omnibus(["stats", url, "q", "--count", "0"])).code).toBe(2);
    expect((await omnibus(["stats", url, "bad name!"])).code).toBe(2);
    const help = await omnibus(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("dlq");
  });

  it("exits 1 when the broker cannot be reached, without the password", async () => {
    const secret = `pw-${shortId()}`;
    const ran = await omnibus(["stats", `redis://user:${secret}@127.0.0.1:1`, "q", "--json"]);
    expect(ran.code).toBe(1);
    expect(ran.stdout + ran.stderr).not.toContain(secret);
  }, 60_000);

  it("stats --watch --count --json prints one reading per interval", async () => {
    const queue = `cli-stats-${shortId()}`;
    const bus = createClient({ url, logger: silentLogger });
    await bus.send(queue, 1);
    await bus.send(queue, 2);
    const ran = await omnibus(["stats", url, queue, "--watch", "--interval", "10", "--count", "3", "--json"]);
    expect(ran.code).toBe(0);
    const readings = ran.json();
    expect(readings).toHaveLength(3);
    expect(readings[0]).toMatchObject({ kind: "queue", name: queue, depth: 2, lag: 2, deadLetters: 0 });
    const text = await omnibus(["stats", url, queue]);
    expect(text.stdout).toContain("depth        2");
    await bus.deleteQueue(queue);
    await bus.close();
  });

  it("dlq list and show leave the dead letters in place; purge asks, and removes with --yes", async () => {
    const queue = `cli-dlq-${shortId()}`;
    const ids = await deadLetters(queue, 3);
    const listed = await omnibus(["dlq", "list", url, queue, "--json"]);
    expect(listed.code).toBe(0);
    const doc = listed.json()[0];
    expect(doc.count).toBe(3);
    expect(new Set(doc.messages.map((m: { id: string }) => m.id))).toEqual(new Set(ids));
    expect(doc.messages[0]).toMatchObject({ origin: `queue:${queue}`, reason: "bad order", attempts: 1 });
    const shown = await omnibus(["dlq", "show", url, queue, ids[1]!, "--json"]);
    expect(shown.json()[0].message).toMatchObject({ id: ids[1], body: '{"i":1}' });
    expect((await omnibus(["dlq", "show", url, queue, "no-such-id", "--wait", "200"])).code).toBe(1);
    // Without a terminal and without --yes, purge refuses (bad usage); "n" at the prompt keeps all.
    expect((await omnibus(["dlq", "purge", url, queue])).code).toBe(2);
    expect((await omnibus(["dlq", "purge", url, queue], "n\n")).code).toBe(0);
    expect((await omnibus(["dlq", "list", url, queue, "--json"])).json()[0].count).toBe(3);
    const purged = await omnibus(["dlq", "purge", url, queue, "--yes", "--json"]);
    expect(purged.json()[0]).toMatchObject({ purged: 3 });
    expect((await omnibus(["dlq", "list", url, queue, "--json"])).json()[0].count).toBe(0);
  });
});
