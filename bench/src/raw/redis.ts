import { Redis } from "ioredis";
import { type Body, bodyBytes, parse } from "../payload.js";
import type { Driver, Progress } from "../types.js";

const GROUP = "bench";

/**
 * ioredis as an expert writes it: one connection for writes (XADD pipelined per window, XACK per
 * batch read), a blocking connection per consumer (`XREADGROUP COUNT 500 BLOCK`), and RPC over
 * lists (`LPUSH` the request, `BRPOP` the reply list), the usual Redis pattern.
 */
export class RawRedis implements Driver {
  readonly side = "raw";
  #client: Redis | undefined;
  readonly #blocking = new Set<Redis>();
  #consumers = 0;

  constructor(
    private readonly url: string,
    private readonly readCount = 500,
  ) {}

  get #c(): Redis {
    if (!this.#client) throw new Error("not connected");
    return this.#client;
  }

  #key(queue: string): string {
    return `bench:raw:${queue}`;
  }

  async #newBlocking(): Promise<Redis> {
    const r = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: null });
    await r.connect();
    this.#blocking.add(r);
    return r;
  }

  #drop(r: Redis): void {
    this.#blocking.delete(r);
    r.disconnect();
  }

  async connect(): Promise<void> {
    this.#client = new Redis(this.url, { lazyConnect: true });
    await this.#client.connect();
  }

  async prepare(queue: string): Promise<void> {
    await this.#c.xgroup("CREATE", this.#key(queue), GROUP, "0", "MKSTREAM");
  }

  async consume(queue: string, onBody: (body: Body) => void): Promise<() => Promise<void>> {
    const key = this.#key(queue);
    const name = `c${++this.#consumers}`; // a consumer of the group each (the curves start several)
    const reader = await this.#newBlocking();
    let running = true;
    const loop = (async () => {
      while (running) {
        // The typed command: ioredis 6 (RESP3 by default) pairs the streams of its map reply
        // only for it, not for `callBuffer("XREADGROUP", …)`.
        const reply = (await reader
          .xreadgroupBuffer("GROUP", GROUP, name, "COUNT", this.readCount, "BLOCK", 200, "STREAMS", key, ">")
          .catch((error: unknown) => {
            if (running) throw error;
            return null;
          })) as [Buffer, [Buffer, Buffer[]][]][] | null;
        if (!reply) continue;
        const entries = reply[0]![1];
        const ids: Buffer[] = new Array(entries.length);
        for (let j = 0; j < entries.length; j++) {
          const [id, fields] = entries[j]!;
          ids[j] = id;
          onBody(parse(fields[1]!));
        }
        void this.#c.xack(key, GROUP, ...ids).catch(() => {});
      }
    })();
    return async () => {
      running = false;
      this.#drop(reader);
      await loop.catch(() => {});
    };
  }

  async sendWindow(queue: string, from: number, to: number, size: number): Promise<void> {
    const key = this.#key(queue);
    const p = this.#c.pipeline();
    for (let i = from; i < to; i++) p.xadd(key, "*", "d", bodyBytes(i, size));
    const results = await p.exec();
    const failed = results?.find(([e]) => e !== null);
    if (failed) throw failed[0];
  }

  async sendTick(queue: string, from: number, to: number, size: number, t: number): Promise<void> {
    const key = this.#key(queue);
    const adds: Promise<unknown>[] = [];
    for (let i = from; i < to; i++) adds.push(this.#c.xadd(key, "*", "d", bodyBytes(i, size, t)));
    await Promise.all(adds);
  }

  async rpc(queue: string, count: number, size: number, progress: Progress): Promise<number[]> {
    const requests = `${this.#key(queue)}:req`;
    const replies = `${this.#key(queue)}:rep`;
    const serverConn = await this.#newBlocking();
    const clientConn = await this.#newBlocking();
    let running = true;
    const server = (async () => {
      while (running) {
        const got = await serverConn.brpopBuffer(requests, 0.2).catch(() => null);
        if (!got) continue;
        // A request is `<reply list>\n<body>`; the answer is the body.
        const raw = got[1];
        const nl = raw.indexOf(10);
        const body = parse(raw.subarray(nl + 1));
        await this.#c.lpush(raw.subarray(0, nl).toString(), JSON.stringify(body));
      }
    })();
    try {
      const out: number[] = [];
      const prefix = Buffer.from(`${replies}\n`);
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        await this.#c.lpush(requests, Buffer.concat([prefix, bodyBytes(i, size)]));
        const got = await clientConn.brpopBuffer(replies, 5);
        if (!got) throw new Error(`rpc: no reply to request ${i} within 5 s`);
        const answer = parse(got[1]);
        out.push(performance.now() - start);
        if (answer.i !== i) throw new Error(`rpc: reply ${answer.i} to request ${i}`);
        if ((i & 63) === 0) progress(i, count);
      }
      return out;
    } finally {
      running = false;
      this.#drop(serverConn);
      this.#drop(clientConn);
      await server.catch(() => {});
      await this.#c.del(requests, replies);
    }
  }

  async cleanup(queue: string): Promise<void> {
    await this.#c.del(this.#key(queue)).catch(() => {});
  }

  async close(): Promise<void> {
    for (const r of this.#blocking) r.disconnect();
    this.#blocking.clear();
    await this.#client?.quit().catch(() => {});
  }
}
