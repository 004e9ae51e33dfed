/**
 * Server and client CPU of three ways to write 20,000 messages (4 fields, 256 B bodies) to a
 * stream in batches of 500: the adapter's send script on a packed batch, a script taking every
 * field as an argument, and pipelined XADD. Client CPU includes building the batch. Use a Redis
 * nobody else uses (server CPU comes from `INFO cpu`).
 * Run: OMNIBUS_REDIS_URL=redis://127.0.0.1:<port> pnpm exec tsx --conditions=@omnibus/source adapters/redis/bench/sendpath.ts
 */
import { Redis } from "ioredis";
import { BatchPacker } from "../src/codec.js";
import { SEND } from "../src/scripts.js";

const c = new Redis(process.env.OMNIBUS_REDIS_URL ?? "redis://127.0.0.1:6379");
const body = Buffer.alloc(256, 120);
const msgs = Array.from({ length: 500 }, (_, i) => ({
  id: `0190a0b0-1111-7000-8000-${String(i).padStart(12, "0")}`,
  body,
  headers: { "omnibus-content-type": "application/json" },
  timestamp: 1700000000000 + i,
}));
const fields = (m: (typeof msgs)[number]) => [
  "id",
  m.id,
  "body",
  m.body,
  "headers",
  JSON.stringify(m.headers),
  "timestamp",
  String(m.timestamp),
];
const ARGS = `local i = 1 local n = #ARGV
while i <= n do local k = tonumber(ARGV[i]) redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 1, i + k)) i = i + k + 1 end
return 1`;
const cpu = async () => {
  const i = await c.info("cpu");
  return Number(/used_cpu_user:([\d.]+)/.exec(i)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(i)![1]);
};
const ways: Record<string, (key: string) => Promise<unknown>> = {
  "send script": (key) => {
    const p = new BatchPacker();
    for (const m of msgs) p.add(m, 0, "");
    return c.eval(SEND, 2, key, `${key}:d`, "0", p.finish());
  },
  "args script": (key) => {
    const args: (string | Buffer)[] = [];
    for (const m of msgs) args.push("8", ...fields(m));
    return c.eval(ARGS, 1, key, ...(args as string[]));
  },
  "pipelined XADD": (key) => {
    const p = c.pipeline();
    for (const m of msgs) p.xadd(key, "*", ...(fields(m) as string[]));
    return p.exec();
  },
};
for (let round = 0; round < 3; round++) {
  for (const [name, write] of Object.entries(ways)) {
    const key = `sendpath:${Math.random()}`;
    const s0 = await cpu();
    const u0 = process.cpuUsage();
    for (let r = 0; r < 40; r++) await write(key);
    const u = process.cpuUsage(u0);
    const s1 = await cpu();
    console.log(
      `${name.padEnd(15)} server ${(((s1 - s0) * 1e6) / 20000).toFixed(2)} µs/msg, client ${((u.user + u.system) / 20000).toFixed(2)} µs/msg`,
    );
    await c.del(key);
  }
}
c.disconnect();
