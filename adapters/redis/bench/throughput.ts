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
    adapter: redis({ url: URL, prefix: "bench" }),
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

const which = process.argv[2] ?? "all";
const results: Record<string, number> = {};
for (let round = 0; round < Number(process.env.ROUNDS ?? 1); round++) {
  if (which === "all" || which === "raw") results[`raw#${round}`] = Math.round(await raw());
  if (which === "all" || which === "batch")
    results[`omnibus-batch#${round}`] = Math.round(await omnibus("batch"));
  if (which === "all" || which === "single")
    results[`omnibus-single#${round}`] = Math.round(await omnibus("single"));
}
console.log(JSON.stringify(results));
