import { shortId, uuidv7 } from "@omnibus/core";
import { Redis } from "ioredis";
import { encodeEntry } from "../src/codec.js";
import { redis } from "../src/index.js";

const N = 20000,
  B = 500;
const body = Buffer.alloc(256, 7);
const c = new Redis(process.env.OMNIBUS_REDIS_URL ?? "redis://127.0.0.1:6379");
c.defineCommand("batchAdd", {
  lua: `
local i = 1
local n = 0
while i <= #ARGV do
  local k = tonumber(ARGV[i])
  redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 1, i + k))
  i = i + k + 1
  n = n + 1
end
return n`,
});
const msgs = Array.from({ length: N }, () => ({
  id: uuidv7(),
  body,
  headers: { "content-type": "application/octet-stream" },
  timestamp: Date.now(),
}));
async function measure(name: string, fn: (key: string) => Promise<void>) {
  const key = `cpu:${shortId()}`;
  await fn(key);
  await c.del(key);
  const cpu = async () => {
    const i = await c.info("cpu");
    return Number(/used_cpu_user:([\d.]+)/.exec(i)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(i)![1]);
  };
  const s0 = await cpu();
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  await fn(key);
  const u = process.cpuUsage(u0);
  const t = performance.now() - t0;
  const s1 = await cpu();
  console.log(
    name.padEnd(20),
    "cpu µs/msg",
    ((u.user + u.system) / N).toFixed(2),
    "server µs/msg",
    (((s1 - s0) * 1e6) / N).toFixed(2),
    "wall ms",
    t.toFixed(0),
  );
  await c.del(key);
}
const a = redis({ url: process.env.OMNIBUS_REDIS_URL, prefix: "cpu" });
await a.connect();
for (let r = 0; r < 3; r++) {
  await measure("pipeline xadd", async (key) => {
    for (let i = 0; i < N; i += B) {
      const p = c.pipeline();
      for (let j = i; j < i + B; j++) p.callBuffer("XADD", encodeEntry(msgs[j]!, [key, "*"]).args);
      await p.exec();
    }
  });
  await measure("adapter.send", async (key) => {
    for (let i = 0; i < N; i += B)
      await a.send({ kind: "queue", name: key.replace(":", "-") }, msgs.slice(i, i + B));
  });
  await measure("lua batch", async (key) => {
    for (let i = 0; i < N; i += B) {
      const args: (string | Buffer | number)[] = [];
      for (let j = i; j < i + B; j++) {
        const f = encodeEntry(msgs[j]!).args;
        args.push(f.length, ...f);
      }
      await (c as any).batchAdd(1, key, ...args);
    }
  });
}
await a.close();
for (const k of await c.keys("cpu*")) await c.del(k);
c.disconnect();
