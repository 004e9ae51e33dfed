/**
 * Throughput: 20,000 x 256 B messages sent while consumed, each acked, first send to last ack.
 * Raw ioredis (pipelined XADD, XREADGROUP COUNT 500 on its own connection, XACK per batch) against
 * Omnibus on this adapter. Run: pnpm exec tsx --conditions=@omnibus/source adapters/redis/bench/throughput.ts
 */
import { bytesCodec, createClient, shortId, silentLogger } from "@omnibus/core";
import { Redis } from "ioredis";
import { redis } from "../src/index.js";

const URL = process.env.OMNIBUS_REDIS_URL ?? "redis://127.0.0.1:6379";
const N = Number(process.env.N ?? 20_000);
const BATCH = Number(process.env.BATCH ?? 500);
const body = Buffer.alloc(256, 7);

async function raw(): Promise<number> {
  const client = new Redis(URL);
  const reader = new Redis(URL);
  const stream = `bench:raw:${shortId()}`;
  await client.xgroup("CREATE", stream, "g", "0", "MKSTREAM");
  const start = performance.now();
  let received = 0;
  const consume = (async () => {
    while (received < N) {
      const reply = (await reader.xreadgroup(
        "GROUP",
        "g",
        "c",
        "COUNT",
        500,
        "BLOCK",
        1000,
        "STREAMS",
        stream,
        ">",
      )) as [string, [string, string[]][]][] | null;
      if (!reply) continue;
      const ids = reply[0]![1].map(([id]) => id);
      received += ids.length;
      await client.xack(stream, "g", ...ids);
    }
  })();
  for (let i = 0; i < N; i += BATCH) {
    const p = client.pipeline();
    for (let j = i; j < Math.min(N, i + BATCH); j++) p.xadd(stream, "*", "id", String(j), "body", body);
    await p.exec();
  }
  await consume;
  const ms = performance.now() - start;
  await client.del(stream);
  client.disconnect();
  reader.disconnect();
  return (N / ms) * 1000;
}

async function omnibus(mode: "batch" | "single"): Promise<number> {
  const bus = createClient({
    adapter: redis({
      url: URL,
      prefix: "bench",
      redis: { enableAutoPipelining: process.env.AUTOPIPE === "1" },
    }),
    logger: silentLogger,
    codec: bytesCodec,
  });
  await bus.connect();
  const queue = `bench-${shortId()}`;
  let received = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  await bus.consume(
    queue,
    () => {
      if (++received === N) done();
    },
    process.env.PREFETCH ? { prefetch: Number(process.env.PREFETCH) } : {},
  );
  const start = performance.now();
  if (mode === "batch") {
    for (let i = 0; i < N; i += BATCH) {
      await bus.sendBatch(
        queue,
        Array.from({ length: Math.min(BATCH, N - i) }, () => ({ body })),
      );
    }
  } else {
    // Many concurrent single sends, in windows of BATCH.
    for (let i = 0; i < N; i += BATCH) {
      await Promise.all(Array.from({ length: Math.min(BATCH, N - i) }, () => bus.send(queue, body)));
    }
  }
  await finished;
  const ms = performance.now() - start;
  await bus.close();
  const c = new Redis(URL);
  await c.del(`bench:{q:${queue}}:stream`);
  c.disconnect();
  return (N / ms) * 1000;
}

const probe = new Redis(URL);
async function serverCpu(): Promise<number> {
  const i = await probe.info("cpu");
  return Number(/used_cpu_user:([\d.]+)/.exec(i)![1]) + Number(/used_cpu_sys:([\d.]+)/.exec(i)![1]);
}
async function measured(label: string, fn: () => Promise<number>): Promise<string> {
  const s0 = await serverCpu();
  const c0 = process.cpuUsage();
  const rate = await fn();
  const c = process.cpuUsage(c0);
  const s1 = await serverCpu();
  const client = (c.user + c.system) / N;
  const server = ((s1 - s0) * 1e6) / N;
  return `${label}: ${Math.round(rate)} msg/s, client ${client.toFixed(1)} µs/msg, server ${server.toFixed(1)} µs/msg`;
}

const which = process.argv[2] ?? "all";
for (let round = 0; round < Number(process.env.ROUNDS ?? 1); round++) {
  if (which === "all" || which === "raw") console.log(await measured("raw", raw));
  if (which === "all" || which === "batch")
    console.log(await measured("omnibus sendBatch", () => omnibus("batch")));
  if (which === "all" || which === "single")
    console.log(await measured("omnibus send", () => omnibus("single")));
}
probe.disconnect();
