import { shortId, uuidv7 } from "@omnibus/core";
import { Redis } from "ioredis";
import { encodeFields } from "../src/codec.js";
import { redis } from "../src/index.js";

const N = 20000,
  B = 500;
const body = Buffer.alloc(256, 7);
const c = new Redis();
const msgs = Array.from({ length: N }, () => ({
  id: uuidv7(),
  body,
  headers: { "content-type": "application/octet-stream" },
  timestamp: Date.now(),
}));
async function measure(name: string, fn: (key: string) => Promise<void>) {
  const key = `cpu:${shortId()}`;
  await fn(key); // warm
  await c.del(key);
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  await fn(key);
  const u = process.cpuUsage(u0);
  const t = performance.now() - t0;
  console.log(name.padEnd(20), "cpu µs/msg", ((u.user + u.system) / N).toFixed(2), "wall ms", t.toFixed(0));
  await c.del(key);
}
await measure("raw xadd 4 fields", async (key) => {
  for (let i = 0; i < N; i += B) {
    const p = c.pipeline();
    for (let j = i; j < i + B; j++) p.xadd(key, "*", "id", msgs[j]!.id, "body", body);
    await p.exec();
  }
});
await measure("raw callBuffer enc", async (key) => {
  for (let i = 0; i < N; i += B) {
    const p = c.pipeline();
    for (let j = i; j < i + B; j++) p.callBuffer("XADD", key, "*", ...encodeFields(msgs[j]!));
    await p.exec();
  }
});
await measure("raw xadd enc", async (key) => {
  for (let i = 0; i < N; i += B) {
    const p = c.pipeline();
    for (let j = i; j < i + B; j++) p.xadd(key, "*", ...(encodeFields(msgs[j]!) as string[]));
    await p.exec();
  }
});
await measure("raw xadd 2 fields json", async (key) => {
  for (let i = 0; i < N; i += B) {
    const p = c.pipeline();
    for (let j = i; j < i + B; j++) {
      const m = msgs[j]!;
      p.xadd(
        key,
        "*",
        "m",
        JSON.stringify({ id: m.id, headers: m.headers, timestamp: m.timestamp }),
        "body",
        body,
      );
    }
    await p.exec();
  }
});
const a = redis({ prefix: "cpu" });
await a.connect();
await measure("adapter.send", async (key) => {
  for (let i = 0; i < N; i += B)
    await a.send({ kind: "queue", name: key.replace(":", "-") }, msgs.slice(i, i + B));
});
await a.close();
c.disconnect();
