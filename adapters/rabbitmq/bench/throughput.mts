/**
 * 20,000 x 256 B sent while consumed, each acked: raw amqplib (confirm channel, prefetch, ack
 * per message) against Omnibus on this adapter. Run from adapters/rabbitmq:
 *   node --conditions=@omnibus/source --import tsx bench/throughput.mts [rounds]
 */
import { bytesCodec, createClient, silentLogger } from "@omnibus/core";
import amqp from "amqplib";
import { rabbitmq } from "../src/index.js";

const URL = process.env.OMNIBUS_RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const N = 20_000;
const BODY = new Uint8Array(256).fill(7);

interface Result {
  rate: number;
  /** Node CPU time per message, microseconds (user + system). */
  cpuUs: number;
}

async function raw(queueType: "quorum" | "classic"): Promise<Result> {
  const conn = await amqp.connect(URL, { noDelay: true });
  const pub = await conn.createConfirmChannel();
  const sub = await conn.createChannel();
  const q = `bench.raw.${Date.now()}`;
  await pub.assertQueue(q, {
    durable: true,
    arguments: queueType === "quorum" ? { "x-queue-type": "quorum" } : {},
  });
  await sub.prefetch(256);
  let got = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  await sub.consume(q, (m) => {
    if (!m) return;
    sub.ack(m);
    if (++got === N) done();
  });
  const body = Buffer.from(BODY);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    if (!pub.sendToQueue(q, body, { persistent: true, messageId: String(i) })) {
      await new Promise((r) => pub.once("drain", r));
    }
  }
  await pub.waitForConfirms();
  await finished;
  const rate = N / ((performance.now() - t0) / 1000);
  const cpu = process.cpuUsage(c0);
  const cpuUs = (cpu.user + cpu.system) / N;
  await pub.deleteQueue(q);
  await conn.close();
  return { rate, cpuUs };
}

async function omnibus(queueType: "quorum" | "classic", mode: "batch" | "single"): Promise<Result> {
  const bus = createClient({
    adapter: rabbitmq({ url: URL, queueType }),
    logger: silentLogger,
    codec: bytesCodec,
  });
  await bus.connect();
  const q = `bench.omnibus.${Date.now()}`;
  let got = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  await bus.consume(
    q,
    () => {
      if (++got === N) done();
    },
    { concurrency: 64, prefetch: 256 },
  );
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  if (mode === "batch") {
    const batch = Array.from({ length: 1000 }, () => ({ body: BODY }));
    const inflight: Promise<unknown>[] = [];
    for (let i = 0; i < N; i += 1000) inflight.push(bus.sendBatch(q, batch));
    await Promise.all(inflight);
  } else {
    // 20,000 independent sends, at most 1,000 awaiting their confirm at a time
    let next = 0;
    const worker = async () => {
      while (next < N) {
        next++;
        await bus.send(q, BODY);
      }
    };
    await Promise.all(Array.from({ length: 1000 }, worker));
  }
  await finished;
  const rate = N / ((performance.now() - t0) / 1000);
  const cpu = process.cpuUsage(c0);
  const cpuUs = (cpu.user + cpu.system) / N;
  await bus.close();
  const cleanup = rabbitmq({ url: URL });
  await cleanup.deleteQueue(q);
  await cleanup.close();
  return { rate, cpuUs };
}

const rounds = Number(process.argv[2] ?? 3);
const type = (process.env.QUEUE_TYPE ?? "quorum") as "quorum" | "classic";
const fmt = (r: Result, base?: Result) =>
  `${Math.round(r.rate)} msg/s${base ? ` (${(r.rate / base.rate).toFixed(2)})` : ""}, ${r.cpuUs.toFixed(1)} µs CPU/msg`;
for (let r = 0; r < rounds; r++) {
  const a = await raw(type);
  const b = await omnibus(type, "batch");
  const c = await omnibus(type, "single");
  console.log(`${type}: raw ${fmt(a)} | omnibus sendBatch ${fmt(b, a)} | omnibus send ${fmt(c, a)}`);
}
