import { shortId, uuidv7 } from "@omnibus/core";
import { Redis } from "ioredis";
import { redis } from "../src/index.js";

const N = 20000,
  B = 500;
const PREFETCH = Number(process.env.PREFETCH ?? 500);
const body = Buffer.alloc(256, 7);
const c = new Redis();
const r = new Redis();
const msgs = Array.from({ length: N }, () => ({
  id: uuidv7(),
  body,
  headers: { "content-type": "application/octet-stream" },
  timestamp: Date.now(),
}));
const a = redis({ prefix: "cpu" });
await a.connect();
async function fill(name: string) {
  for (let i = 0; i < N; i += B) await a.send({ kind: "queue", name }, msgs.slice(i, i + B));
}
async function measure(label: string, fn: (name: string) => Promise<void>) {
  const name = `q${shortId()}`;
  await fill(name);
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  await fn(name);
  const u = process.cpuUsage(u0);
  const t = performance.now() - t0;
  console.log(label.padEnd(20), "cpu µs/msg", ((u.user + u.system) / N).toFixed(2), "wall ms", t.toFixed(0));
  await c.del(`cpu:{q:${name}}:stream`);
}
for (let round = 0; round < 2; round++) {
  await measure("raw", async (name) => {
    const key = `cpu:{q:${name}}:stream`;
    await c.xgroup("CREATE", key, "g", "0");
    let n = 0;
    while (n < N) {
      const reply = (await r.xreadgroupBuffer(
        "GROUP",
        "g",
        "c",
        "COUNT",
        B,
        "BLOCK",
        1000,
        "STREAMS",
        key,
        ">",
      )) as any;
      const ids = reply[0][1].map((e: any) => e[0]);
      n += ids.length;
      await c.xack(key, "g", ...ids);
    }
  });
  await measure("adapter", async (name) => {
    let n = 0;
    let done!: () => void;
    const p = new Promise<void>((res) => (done = res));
    const h = await a.consume(
      { kind: "queue", name },
      {
        prefetch: PREFETCH,
        onDelivery: (d) => {
          void d.ack();
          if (++n === N) done();
        },
        onError: () => {},
      },
    );
    await p;
    await h.stop();
    await h.close();
  });
}
await a.close();
c.disconnect();
r.disconnect();
