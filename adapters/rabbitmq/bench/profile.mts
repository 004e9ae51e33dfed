import { bytesCodec, createClient, silentLogger } from "@omnibus/core";
import { rabbitmq } from "../src/index.js";

const N = 20_000;
const BODY = new Uint8Array(256).fill(7);
const bus = createClient({ adapter: rabbitmq({}), logger: silentLogger, codec: bytesCodec });
await bus.connect();
const q = `bench.prof.${Date.now()}`;
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
const batch = Array.from({ length: 1000 }, () => ({ body: BODY }));
let next = 0;
if (process.env.MODE === "single")
  await Promise.all(
    Array.from({ length: 1000 }, async () => {
      while (next < N) {
        next++;
        await bus.send(q, BODY);
      }
    }),
  );
else await Promise.all(Array.from({ length: N / 1000 }, () => bus.sendBatch(q, batch)));
const tSent = performance.now();
await finished;
console.log(
  "sent in",
  Math.round(tSent - t0),
  "ms; all consumed in",
  Math.round(performance.now() - t0),
  "ms",
);
await bus.close();
const c = rabbitmq({});
await c.deleteQueue(q);
await c.close();
