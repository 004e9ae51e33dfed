/**
 * Core hot path alone, for `node --cpu-prof`: sendBatch + consume on the memory adapter (no
 * network), so what a profile shows is core's own cost per message.
 * Run: node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx --conditions=@omnibus/source bench/src/profile-core.ts [url] [n]
 */
import { createClient } from "@omnibus/core";
import { body } from "./payload.js";
import { Tracker } from "./tracker.js";

const url = process.argv[2] ?? "memory://profile";
const n = Number(process.argv[3] ?? 100_000);
const mode = process.argv[4] ?? "batch";
const client = createClient({ url });
await client.connect();
const queue = `profile-${Date.now()}`;
const tracker = new Tracker(n);
const sub = await client.consume(queue, (m) => tracker.add((m.body as { i: number }).i));
const start = performance.now();
for (let from = 0; from < n; from += 500) {
  const to = Math.min(n, from + 500);
  if (mode === "batch") {
    const items = [];
    for (let i = from; i < to; i++) items.push({ body: body(i, 256) });
    await client.sendBatch(queue, items);
  } else {
    const sends = [];
    for (let i = from; i < to; i++) sends.push(client.send(queue, body(i, 256)));
    await Promise.all(sends);
  }
}
await tracker.arm(120_000);
const ms = tracker.lastAt - start;
console.log(
  `${url} ${mode}: ${n} messages, ${Math.round((n / ms) * 1000)} msg/s, ${((ms * 1000) / n).toFixed(1)} µs/msg`,
);
await sub.close();
await client.adapter.deleteQueue?.(queue);
await client.close();
