/**
 * The bench's e2e scenario (bench/src, same drivers) with CPU accounting: client (this process) and
 * server (`INFO cpu` of a Redis nobody else uses) CPU per message, raw vs Omnibus, alternating.
 * Wall-clock throughput on a shared 2-core machine swings with the neighbours' load; CPU per
 * message is what decides throughput when the machine is the limit.
 * Compiled JavaScript, as applications run: `pnpm exec tsc -b bench adapters/redis`, then
 * OMNIBUS_REDIS_URL=redis://127.0.0.1:<private port> node adapters/redis/bench/e2ecpu.mjs
 */
import { Redis } from "ioredis";
import { OmnibusDriver } from "../../../bench/dist/src/omnibus.js";
import { RawRedis } from "../../../bench/dist/src/raw/redis.js";
import { Tracker, windows } from "../../../bench/dist/src/tracker.js";

const URL = process.env.OMNIBUS_REDIS_URL ?? "redis://127.0.0.1:6379";
const N = Number(process.env.N ?? 20_000);
const probe = new Redis(URL);
const serverCpu = async () => {
  const i = await probe.info("cpu");
  return Number(/used_cpu_user:([\d.]+)/.exec(i)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(i)[1]);
};

async function e2e(d, n) {
  const queue = `cpu-${Math.random().toString(36).slice(2)}`;
  await d.prepare(queue);
  const tracker = new Tracker(n, () => {});
  const stop = await d.consume(queue, (b) => tracker.add(b.i));
  const s0 = await serverCpu();
  const c0 = process.cpuUsage();
  const start = performance.now();
  await windows(n, 500, (from, to) => d.sendWindow(queue, from, to, 256));
  await tracker.arm(60_000);
  const ms = tracker.lastAt - start;
  const c = process.cpuUsage(c0);
  const s1 = await serverCpu();
  await stop();
  await d.cleanup(queue);
  return { rate: (n / ms) * 1000, client: (c.user + c.system) / n, server: ((s1 - s0) * 1e6) / n };
}

const raw = new RawRedis(URL);
const omnibus = new OmnibusDriver({ url: URL });
await raw.connect();
await omnibus.connect();
await e2e(raw, 2000);
await e2e(omnibus, 2000);
const rows = { raw: [], omnibus: [] };
for (let r = 0; r < Number(process.env.ROUNDS ?? 3); r++) {
  for (const [name, d] of r % 2
    ? [
        ["omnibus", omnibus],
        ["raw", raw],
      ]
    : [
        ["raw", raw],
        ["omnibus", omnibus],
      ]) {
    rows[name].push(await e2e(d, N));
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, rs] of Object.entries(rows)) {
  console.log(
    `${name.padEnd(8)} ${Math.round(med(rs.map((r) => r.rate)))} msg/s  client ${med(rs.map((r) => r.client)).toFixed(1)} µs/msg  server ${med(rs.map((r) => r.server)).toFixed(1)} µs/msg  total ${med(rs.map((r) => r.client + r.server)).toFixed(1)}`,
  );
}
await raw.close();
await omnibus.close();
probe.disconnect();
