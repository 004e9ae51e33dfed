// The claim-check middleware on the reference broker (@omnibus/memory, 1 MiB limit) with the
// filesystem store in a temporary directory: offload, verification, lifecycle, request-reply.
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BlobStore,
  bytesCodec,
  CLAIM_CHECK_CONTENT_TYPE,
  type Client,
  type ClientOptions,
  claimCheck,
  createClient,
  ErrorCode,
  type FileBlobStore,
  fileBlobStore,
  HeaderNames,
  type Message,
  shortId,
  silentLogger,
} from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { memory } from "@omnibus/memory";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

let dir: string;
let store: FileBlobStore;
const open: Client[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "omnibus-cc-"));
  store = fileBlobStore({ directory: dir });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
  await rm(dir, { recursive: true, force: true });
});
function bus(options: ClientOptions = {}): Client {
  const c = createClient({
    adapter: memory({ name: "claim-check-tests" }),
    logger: silentLogger,
    retry: { initialDelayMs: 10, maxDelayMs: 50, jitter: 0 },
    ...options,
  });
  open.push(c);
  return c;
}
const q = (label: string) => `${label}-${shortId()}`;

/** Every payload file under the store's directory (keys, relative). */
async function stored(): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** The store, recording the keys put (a decorator over the real store, not a mock). */
function recording(inner: BlobStore): BlobStore & { keys: string[] } {
  const keys: string[] = [];
  return {
    name: inner.name,
    keys,
    put: (key, body, info) => {
      keys.push(key);
      return inner.put(key, body, info);
    },
    get: (key) => inner.get(key),
    delete: (key) => inner.delete(key),
  };
}

describe("claim check", () => {
  it("a body over the broker's limit arrives byte for byte, and its payload is deleted after the ack", async () => {
    const c = bus({ use: [claimCheck({ store })] });
    const queue = q("big");
    const got: Message[] = [];
    await c.consume(queue, (m) => {
      got.push(m);
    });
    const body = randomBytes(3 * 1024 * 1024);
    const id = await c.send(queue, body, { codec: bytesCodec });
    await waitFor(() => got.length === 1);
    expect(got[0]!.id).toBe(id);
    expect(Buffer.from(got[0]!.body as Uint8Array).equals(body)).toBe(true);
    expect(Buffer.from(got[0]!.rawBody).equals(body)).toBe(true);
    expect(got[0]!.headers[HeaderNames.ContentType]).toBe(bytesCodec.contentType);
    expect(got[0]!.headers[HeaderNames.ClaimCheck]).toBe("v1");
    await waitFor(async () => (await stored()).length === 0);
  });

  it("leaves a body under the threshold in the message", async () => {
    const c = bus({ use: [claimCheck({ store })] });
    const queue = q("small");
    const got: Message[] = [];
    await c.consume(queue, (m) => {
      got.push(m);
    });
    await c.send(queue, { n: 1 });
    await waitFor(() => got.length === 1);
    expect(got[0]!.body).toEqual({ n: 1 });
    expect(got[0]!.headers[HeaderNames.ClaimCheck]).toBeUndefined();
    expect(await stored()).toEqual([]);
  });

  it("offloads JSON over thresholdBytes and gives the handler the decoded object", async () => {
    const recorded = recording(store);
    const c = bus({ use: [claimCheck({ store: recorded, thresholdBytes: 1024 })] });
    const queue = q("json");
    const got: Message[] = [];
    await c.consume(queue, (m) => {
      got.push(m);
    });
    const body = { text: "x".repeat(5000), n: [1, 2, 3] };
    await c.sendBatch(queue, [{ body }, { body: { small: true } }]);
    await waitFor(() => got.length === 2);
    expect(got.map((m) => m.body)).toEqual(expect.arrayContaining([body, { small: true }]));
    const big = got.find((m) => (m.body as { text?: string }).text !== undefined)!;
    expect(big.headers[HeaderNames.ContentType]).toBeUndefined(); // JSON: no header, as sent
    expect(recorded.keys).toHaveLength(1);
    expect(recorded.keys[0]).toMatch(new RegExp(`^queue/${queue}/[0-9a-f-]{36}$`));
  });

  it("dead-letters a tampered payload with OMNIBUS_DECODE, keeping the reference and the payload", async () => {
    const recorded = recording(store);
    const producer = bus({ use: [claimCheck({ store: recorded, thresholdBytes: 1024 })] });
    const queue = q("tamper");
    const key = async (): Promise<string> => {
      await waitFor(() => recorded.keys.length > 0);
      return recorded.keys.shift()!;
    };
    const id = await producer.send(queue, randomBytes(4096), { codec: bytesCodec });
    const k = await key();
    await writeFile(join(dir, ...k.split("/")), randomBytes(4096)); // same size, other bytes
    const handled: string[] = [];
    const consumer = bus({ use: [claimCheck({ store })] });
    await consumer.consume(queue, (m) => {
      handled.push(m.id);
    });
    const dead: Message[] = [];
    const reader = bus(); // no claim check: reads the DLQ copy as it travelled
    await reader.consume(
      `${queue}.dlq`,
      (m) => {
        dead.push(m);
      },
      { codec: bytesCodec },
    );
    await waitFor(() => dead.length === 1);
    expect(handled).toEqual([]);
    expect(dead[0]!.id).toBe(id);
    expect(dead[0]!.headers[HeaderNames.DeadLetterCode]).toBe(ErrorCode.Decode);
    expect(dead[0]!.headers[HeaderNames.DeadLetterReason]).toMatch(/does not match its digest/);
    expect(dead[0]!.headers[HeaderNames.ContentType]).toBe(CLAIM_CHECK_CONTENT_TYPE);
    const reference = JSON.parse(Buffer.from(dead[0]!.body as Uint8Array).toString("utf8"));
    expect(reference).toMatchObject({ v: 1, store: "fs", key: k, size: 4096 });
    expect(await stored()).toEqual([k]); // kept for whoever reads the DLQ
  });

  it("dead-letters a message whose payload is missing, or whose reference names another store", async () => {
    const recorded = recording(store);
    const producer = bus({ use: [claimCheck({ store: recorded, thresholdBytes: 0 })] });
    const queue = q("missing");
    const missing = await producer.send(queue, "gone");
    await store.delete(recorded.keys[0]!);
    const other = bus({
      use: [claimCheck({ store: fileBlobStore({ directory: dir, name: "elsewhere" }), thresholdBytes: 0 })],
    });
    const foreign = await other.send(queue, "elsewhere");
    const consumer = bus({ use: [claimCheck({ store })] });
    const handled: string[] = [];
    await consumer.consume(queue, (m) => {
      handled.push(m.id);
    });
    const dead: Message[] = [];
    await bus().consume(
      `${queue}.dlq`,
      (m) => {
        dead.push(m);
      },
      { codec: bytesCodec },
    );
    await waitFor(() => dead.length === 2);
    expect(handled).toEqual([]);
    const byId = new Map(dead.map((m) => [m.id, m.headers]));
    expect(byId.get(missing)?.[HeaderNames.DeadLetterCode]).toBe(ErrorCode.Decode);
    expect(byId.get(missing)?.[HeaderNames.DeadLetterReason]).toMatch(/is missing/);
    expect(byId.get(foreign)?.[HeaderNames.DeadLetterCode]).toBe(ErrorCode.Decode);
    expect(byId.get(foreign)?.[HeaderNames.DeadLetterReason]).toMatch(/names store "elsewhere"/);
  });

  it("a consumer without the middleware dead-letters a claim-checked message instead of handling the reference", async () => {
    const producer = bus({ use: [claimCheck({ store, thresholdBytes: 0 })] });
    const queue = q("plain");
    const handled: unknown[] = [];
    await bus().consume(queue, (m) => {
      handled.push(m.body);
    });
    const dead: Message[] = [];
    await bus().consume(
      `${queue}.dlq`,
      (m) => {
        dead.push(m);
      },
      { codec: bytesCodec },
    );
    await producer.send(queue, { secret: "payload" });
    await waitFor(() => dead.length === 1);
    expect(handled).toEqual([]);
    expect(dead[0]!.headers[HeaderNames.DeadLetterCode]).toBe(ErrorCode.Decode);
  });

  it("keeps the payload through retries and deletes it after the successful attempt", async () => {
    const c = bus({ use: [claimCheck({ store, thresholdBytes: 0 })] });
    const queue = q("retry");
    const attempts: number[] = [];
    await c.consume(queue, (m) => {
      attempts.push(m.attempt);
      expect(m.body).toBe("payload"); // every attempt fetches it again
      if (m.attempt < 3) throw new Error("not yet");
    });
    await c.send(queue, "payload");
    await waitFor(() => attempts.length === 3);
    await waitFor(async () => (await stored()).length === 0);
    expect(attempts).toEqual([1, 2, 3]);
  });

  it("retries (not dead-letters) while the store fails, then delivers", async () => {
    let failing = 2;
    const flaky: BlobStore = {
      name: store.name,
      put: (k, b, i) => store.put(k, b, i),
      get: async (k) => {
        if (failing-- > 0) throw new Error("store unavailable");
        return store.get(k);
      },
      delete: (k) => store.delete(k),
    };
    const c = bus({ use: [claimCheck({ store: flaky, thresholdBytes: 0 })] });
    const queue = q("flaky");
    const got: Message[] = [];
    await c.consume(queue, (m) => {
      got.push(m);
    });
    await c.send(queue, "after all");
    await waitFor(() => got.length === 1);
    expect(got[0]!.body).toBe("after all");
    expect(got[0]!.attempt).toBe(3);
  });

  it("reads a streamed payload and refuses one longer than its reference says", async () => {
    let extra = false;
    const streaming: BlobStore = {
      name: store.name,
      put: (k, b, i) => store.put(k, b, i),
      get: async (k) => {
        const whole = (await store.get(k)) as Uint8Array | undefined;
        if (whole === undefined) return undefined;
        const chunks = [whole.subarray(0, 1000), whole.subarray(1000)];
        if (extra) chunks.push(new Uint8Array(1));
        return (async function* () {
          yield* chunks;
        })();
      },
      delete: (k) => store.delete(k),
    };
    const c = bus({ use: [claimCheck({ store: streaming, thresholdBytes: 100 })] });
    const queue = q("stream");
    const got: Message[] = [];
    await c.consume(queue, (m) => {
      got.push(m);
    });
    const dead: Message[] = [];
    await bus().consume(`${queue}.dlq`, (m) => void dead.push(m), { codec: bytesCodec });
    const body = randomBytes(5000);
    await c.send(queue, body, { codec: bytesCodec });
    await waitFor(() => got.length === 1);
    expect(Buffer.from(got[0]!.body as Uint8Array).equals(body)).toBe(true);
    extra = true;
    await c.send(queue, body, { codec: bytesCodec });
    await waitFor(() => dead.length === 1);
    expect(dead[0]!.headers[HeaderNames.DeadLetterReason]).toMatch(/has more than 5000 bytes/);
  });

  it("topics: every group gets the payload, and consumers leave it to the store's expiry", async () => {
    const c = bus({ use: [claimCheck({ store, thresholdBytes: 0 })] });
    const topic = q("topic");
    const got: string[] = [];
    for (const group of ["a", "b"])
      await c.subscribe(topic, { group }, (m) => {
        got.push(`${m.group}:${m.body}`);
      });
    await c.publish(topic, "event");
    await waitFor(() => got.length === 2);
    expect(got.sort()).toEqual(["a:event", "b:event"]);
    const keys = await stored();
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^topic/${topic}/`));
    expect(await store.sweep(60_000)).toBe(0);
    expect(await store.sweep(-1)).toBe(1);
    expect(await stored()).toEqual([]);
  });

  it("deleteAfterAck: false keeps queue payloads (for a bucket lifecycle rule)", async () => {
    const c = bus({ use: [claimCheck({ store, thresholdBytes: 0, deleteAfterAck: false })] });
    const queue = q("keep");
    const got: unknown[] = [];
    await c.consume(queue, (m) => {
      got.push(m.body);
    });
    await c.send(queue, "kept");
    await waitFor(() => got.length === 1);
    await c.close();
    expect(await stored()).toHaveLength(1);
  });

  it("request-reply: a large request and a large reply both travel through the store", async () => {
    const c = bus({ use: [claimCheck({ store })] });
    const queue = q("rpc");
    await c.reply(queue, (m) => {
      const input = m.body as { blob: string };
      return { echo: input.blob.length, blob: input.blob.toUpperCase() };
    });
    const blob = "a".repeat(1_500_000); // over memory's 1 MiB limit both ways
    const answer = (await c.request(queue, { blob }, { timeoutMs: 10_000 })) as {
      echo: number;
      blob: string;
    };
    expect(answer.echo).toBe(blob.length);
    expect(answer.blob).toBe(blob.toUpperCase());
    await waitFor(async () => (await stored()).length === 0);
  });

  it("request-reply: a store slower than the request's timeout does not hold the request past it", async () => {
    let slow = false;
    const laggard: BlobStore = {
      name: store.name,
      put: (k, b, i) => store.put(k, b, i),
      get: async (k) => {
        if (slow) await new Promise((r) => setTimeout(r, 2_000));
        return store.get(k);
      },
      delete: (k) => store.delete(k),
    };
    const c = bus({ use: [claimCheck({ store: laggard, thresholdBytes: 0 })] });
    const queue = q("rpc-slow");
    await c.reply(queue, (m) => {
      slow = true; // the reply's payload is slow to fetch, not the request's
      return m.body;
    });
    const started = Date.now();
    await expect(c.request(queue, "ping", { timeoutMs: 300 })).rejects.toMatchObject({
      code: ErrorCode.RequestTimeout,
    });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("without the middleware the same body is too large for the broker", async () => {
    const c = bus();
    await expect(
      c.send(q("nope"), randomBytes(2 * 1024 * 1024), { codec: bytesCodec }),
    ).rejects.toMatchObject({
      code: ErrorCode.MessageTooLarge,
    });
  });

  it("checks its options", () => {
    expect(() => claimCheck({} as never)).toThrowError(expect.objectContaining({ code: ErrorCode.Config }));
    expect(() => claimCheck({ store, thresholdBytes: -1 })).toThrowError(/thresholdBytes/);
    expect(() => claimCheck({ store, prefix: "../" })).toThrowError(/prefix/);
    expect(() => claimCheck({ store, prefix: "svc/" })).not.toThrow();
  });
});

describe("fileBlobStore", () => {
  it("puts, gets and deletes; get of a missing key is undefined; delete of one resolves", async () => {
    const info = { size: 3, sha256: "0".repeat(64), contentType: "application/octet-stream" };
    await store.put("queue/q/k1", new Uint8Array([1, 2, 3]), info);
    expect([...((await store.get("queue/q/k1")) as Uint8Array)]).toEqual([1, 2, 3]);
    await store.delete("queue/q/k1");
    expect(await store.get("queue/q/k1")).toBeUndefined();
    await store.delete("queue/q/k1");
    expect(await stored()).toEqual([]);
  });
  it("puts, deletes and sweeps in one directory at once without a put failing", async () => {
    const info = { size: 1, sha256: "0".repeat(64), contentType: "application/octet-stream" };
    for (let round = 0; round < 20; round++) {
      const keys = Array.from({ length: 20 }, (_, i) => `queue/race/k${round}-${i}`);
      await Promise.all([
        ...keys.map(async (key) => {
          await store.put(key, new Uint8Array([1]), info);
          await store.delete(key);
        }),
        store.sweep(60_000), // removes the empty directories (nothing is that old)
      ]);
    }
    await store.sweep(60_000);
    expect(await readdir(dir)).toEqual([]);
  });
  it("refuses keys that could leave its directory", async () => {
    for (const key of ["../x", "/etc/passwd", "a/../../b", "a//b", ".hidden", "a\\b", ""]) {
      await expect(store.get(key), key).rejects.toMatchObject({ code: ErrorCode.Config });
    }
  });
  it("needs a directory", () => {
    expect(() => fileBlobStore({} as never)).toThrowError(
      expect.objectContaining({ code: ErrorCode.Config }),
    );
  });
});
