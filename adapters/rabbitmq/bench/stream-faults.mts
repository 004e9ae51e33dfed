/**
 * The conformance suite's fault stream (`runStream`) on this adapter, with the knobs the suite's
 * cases fix: more producers, more messages, a larger prefetch. Run from adapters/rabbitmq:
 *
 *   # kill -9 + start twice mid-stream, on a private broker (never the shared one)
 *   node --conditions=@omnibus/source --import tsx bench/stream-faults.mts kill [runs] [--queueType quorum|classic]
 *   # every connection cut for 3 s through a TCP proxy in front of the test broker
 *   node --conditions=@omnibus/source --import tsx bench/stream-faults.mts cut [runs] [--no-stale]
 *
 * Options: --producers 10 --messages 10000 --consumers 1 --prefetch (the adapter's, overriding
 * core's) --handlerMs 2 --no-stale (hide `Delivery.stale` from core: what duplicates cost without
 * it). One JSON line per run, then a summary.
 */
import { randomUUID } from "node:crypto";
import { brokerUrl, startPrivate } from "@omnibus/brokers";
import { runStream, type StreamFault, type StreamReport, tcpProxy } from "@omnibus/conformance";
import type { Adapter, Delivery } from "@omnibus/core";
import amqp from "amqplib";
import { type RabbitMQOptions, rabbitmq } from "../src/index.js";

const argv = process.argv.slice(2);
const mode = argv[0] === "cut" ? "cut" : "kill";
const runs = Number(argv[1] ?? 1);
const flag = (name: string, fallback?: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const num = (name: string, fallback?: number) => {
  const v = flag(name);
  return v === undefined ? fallback : Number(v);
};
const queueType = flag("queueType") as RabbitMQOptions["queueType"];
const noStale = argv.includes("--no-stale");
const prefetch = num("prefetch");

/** Core's delivery without `stale` (as an adapter that does not implement it). */
function withoutStale(d: Delivery): Delivery {
  return { message: d.message, ack: () => d.ack(), nack: (o) => d.nack(o) };
}

/** The adapter with core's prefetch replaced, and `stale` hidden when asked. */
function tuned(a: Adapter): Adapter {
  return new Proxy(a, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (prop !== "consume" || typeof value !== "function") {
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (source: Parameters<Adapter["consume"]>[0], o: Parameters<Adapter["consume"]>[1]) =>
        value.call(target, source, {
          ...o,
          prefetch: prefetch ?? o.prefetch,
          onDelivery: noStale ? (d: Delivery) => o.onDelivery(withoutStale(d)) : o.onDelivery,
        });
    },
  });
}

async function deleteQueue(url: string, queue: string): Promise<void> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    await ch.deleteQueue(queue).catch(() => {});
  } finally {
    await conn.close().catch(() => {});
  }
}

async function oneRun(): Promise<StreamReport & { queueType: string }> {
  const queue = `bench.faults.${mode}.${randomUUID().slice(0, 8)}`;
  const common = {
    queue,
    producers: num("producers", 10)!,
    messages: num("messages", 10_000)!,
    consumers: num("consumers", 1)!,
    handlerMs: num("handlerMs", 2)!,
    sendTimeoutMs: 10_000,
    log: (line: string) => console.error(`  ${line}`),
  };
  const options = (url: string): RabbitMQOptions => ({ url, ...(queueType ? { queueType } : {}) });
  if (mode === "kill") {
    await using broker = await startPrivate("rabbitmq");
    const faults: StreamFault[] = [0.3, 0.65].map((at) => ({
      label: "kill -9 and start",
      at,
      run: async () => {
        await broker.kill();
        await broker.start();
      },
    }));
    const report = await runStream({
      ...common,
      adapter: () => tuned(rabbitmq(options(broker.url))),
      faults,
    });
    return { ...report, queueType: queueType ?? "(default)" };
  }
  const target = brokerUrl("rabbitmq");
  const { hostname, port } = new URL(target);
  await using proxy = await tcpProxy({ target: { host: hostname, port: Number(port || 5672) } });
  try {
    const report = await runStream({
      ...common,
      adapter: () => tuned(rabbitmq(options(`amqp://guest:guest@127.0.0.1:${proxy.port}`))),
      faults: [{ label: "connection cut 3 s", at: 0.4, run: () => proxy.cut(3_000) }],
    });
    return { ...report, queueType: queueType ?? "(default)" };
  } finally {
    await deleteQueue(target, queue);
  }
}

const reports: (StreamReport & { queueType: string })[] = [];
for (let i = 1; i <= runs; i++) {
  const r = await oneRun();
  reports.push(r);
  console.log(JSON.stringify({ run: i, ...r, lost: r.lost.length, unexpected: r.unexpected.length }));
}
console.log(
  `\n${mode}${noStale ? " (stale hidden)" : ""}, queueType ${reports[0]?.queueType}, prefetch ${prefetch ?? "core's"}:`,
);
for (const [i, r] of reports.entries()) {
  console.log(
    `  run ${i + 1}: ${r.confirmed} confirmed, ${r.lost.length} lost, ${r.duplicates} duplicates, hung ${r.hung}, ` +
      `longest send ${r.maxSendMs} ms, ` +
      r.faults
        .map((f) => `${f.label} ${f.ms} ms → confirm +${f.firstConfirmMs} delivery +${f.firstDeliveryMs}`)
        .join("; ") +
      `, ${r.ms} ms`,
  );
}
process.exit(0);
