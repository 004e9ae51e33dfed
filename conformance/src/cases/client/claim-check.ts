import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BlobBody,
  type BlobStore,
  bytesCodec,
  CLAIM_CHECK_CONTENT_TYPE,
  claimCheck,
  ErrorCode,
  fileBlobStore,
  HeaderNames,
  type Message,
} from "@omnibus/core";
import { check, equal, sameBytes } from "../../assert.js";
import { type ClientCaseContext, clientCase } from "../../case.js";
import { randomBody, text } from "../helpers.js";

/** The threshold of the cases: low enough to offload on every broker, also where 5 MiB would fit. */
const THRESHOLD = 64 * 1024;

/** The options' store (or a file store in a new temporary directory), recording every key put and read. */
async function caseStore(
  ctx: ClientCaseContext,
): Promise<BlobStore & { readonly keys: string[]; readonly reads: string[] }> {
  let inner: BlobStore;
  if (ctx.options.blobStore) inner = await ctx.options.blobStore();
  else {
    const dir = await mkdtemp(join(tmpdir(), "omnibus-conformance-cc-"));
    ctx.defer(() => rm(dir, { recursive: true, force: true }), "remove the blob store's directory");
    inner = fileBlobStore({ directory: dir });
  }
  const keys: string[] = [];
  const reads: string[] = [];
  // What the case left in the store goes when it ends, whatever the store.
  ctx.defer(() => Promise.all(keys.map((k) => inner.delete(k))), "delete the case's payloads");
  return {
    name: inner.name,
    keys,
    reads,
    put(key, body, info) {
      keys.push(key);
      return inner.put(key, body, info);
    },
    get(key) {
      reads.push(key);
      return inner.get(key);
    },
    delete: (key) => inner.delete(key),
  };
}

/** Whether the store holds `key` (reading the object through, so a stream is not left open). */
async function holds(store: BlobStore, key: string): Promise<boolean> {
  const found: BlobBody | undefined = await store.get(key);
  if (found === undefined) return false;
  if (!(found instanceof Uint8Array)) for await (const _ of found);
  return true;
}

export const clientClaimCheck = clientCase({
  id: "client/claim-check",
  title:
    "claim check at 64 KiB: a 5 MiB random body arrives byte for byte, its payload gone after the ack; a tampered payload is dead-lettered (OMNIBUS_DECODE) and kept",
  timeoutMs: 90_000,
  async run(ctx) {
    const store = await caseStore(ctx);
    const use = [claimCheck({ store, thresholdBytes: THRESHOLD })];
    const producer = await ctx.client({ use });
    const consumer = await ctx.client({ use });

    // 1. 5 MiB through the store, byte for byte, with the content type the sender gave.
    const queue = ctx.name("cc");
    const got: Message[] = [];
    await consumer.consume(
      queue,
      (m) => {
        got.push(m);
      },
      { prefetch: 2 },
    );
    const body = randomBody(5 * 1024 * 1024);
    const id = await producer.send(queue, body, { codec: bytesCodec });
    equal(store.keys.length, 1, "payloads put in the store for one 5 MiB message");
    const key = store.keys[0]!;
    await ctx.waitUntil(
      () => got.length >= 1,
      30_000,
      () => "the 5 MiB message did not arrive",
    );
    equal(got[0]!.id, id, "id of the message received");
    sameBytes(got[0]!.body as Uint8Array, body, "body of 5 MiB through the claim check");
    equal(got[0]!.headers[HeaderNames.ContentType], bytesCodec.contentType, "content type the handler sees");
    equal(got[0]!.headers[HeaderNames.ClaimCheck], "v1", "claim-check header the handler sees");
    // 2. Acked: the payload is deleted.
    await ctx.waitUntil(
      async () => !(await holds(store, key)),
      15_000,
      () => `the payload ${key} is still in the store after the message was acked`,
    );

    // 3. A payload changed in the store (same size, other bytes): dead-lettered at once, not handled.
    const tamperedQueue = ctx.name("cc-tamper");
    const original = randomBody(THRESHOLD * 2);
    const tamperedId = await producer.send(tamperedQueue, original, { codec: bytesCodec });
    equal(store.keys.length, 2, "payloads put in the store after the second message");
    const tamperedKey = store.keys[1]!;
    const forged = randomBody(original.byteLength);
    await store.put(tamperedKey, forged, {
      size: forged.byteLength,
      sha256: "0".repeat(64),
      contentType: bytesCodec.contentType,
    });
    const handled: string[] = [];
    await consumer.consume(tamperedQueue, (m) => {
      handled.push(m.id);
    });
    const dead: Message[] = [];
    // Read without the claim check: the DLQ copy as it travelled.
    const reader = await ctx.client();
    await reader.consume(
      `${tamperedQueue}.dlq`,
      (m) => {
        dead.push(m);
      },
      { codec: bytesCodec },
    );
    await ctx.waitUntil(
      () => dead.length >= 1,
      30_000,
      () =>
        `the message with a tampered payload was not dead-lettered (its payload read ${store.reads.filter((k) => k === tamperedKey).length} times, handled ${handled.length} times)`,
    );
    await ctx.observe(300);
    equal(handled, [], "ids handled whose payload was tampered with");
    equal(
      dead.map((m) => m.id),
      [tamperedId],
      "ids dead-lettered",
    );
    const copy = dead[0]!;
    equal(
      copy.headers[HeaderNames.DeadLetterCode],
      ErrorCode.Decode,
      "dead-letter code of a tampered payload",
    );
    equal(copy.headers[HeaderNames.ContentType], CLAIM_CHECK_CONTENT_TYPE, "content type of the DLQ copy");
    let reference: { key?: unknown; size?: unknown } | undefined;
    try {
      reference = JSON.parse(text(copy.body as Uint8Array));
    } catch {
      reference = undefined;
    }
    check(
      reference?.key === tamperedKey && reference.size === original.byteLength,
      () =>
        `the DLQ copy does not carry the reference to ${tamperedKey}: ${text(copy.body as Uint8Array).slice(0, 200)}`,
    );
    check(
      await holds(store, tamperedKey),
      "the payload of a dead-lettered message was deleted: its DLQ copy refers to it",
    );
  },
});

export const clientClaimCheckTopic = clientCase({
  id: "client/claim-check-topic",
  title:
    "claim check on a topic: two groups each get a 256 KiB body byte for byte; the payload is left to the store's expiry",
  timeoutMs: 60_000,
  skip: ({ features }) => (features.fanout ? undefined : "features.fanout is false"),
  async run(ctx) {
    const store = await caseStore(ctx);
    const bus = await ctx.client({ use: [claimCheck({ store, thresholdBytes: THRESHOLD })] });
    const topic = ctx.name("cc-topic");
    const got = new Map<string, Message>();
    for (const group of ["a", "b"]) {
      await bus.subscribe(topic, { group }, (m) => {
        got.set(group, m);
      });
    }
    const body = randomBody(256 * 1024);
    await bus.publish(topic, body, { codec: bytesCodec });
    await ctx.waitUntil(
      () => got.size === 2,
      30_000,
      () => `groups that got the message: ${[...got.keys()].join(", ") || "none"}`,
    );
    for (const [group, m] of got) sameBytes(m.body as Uint8Array, body, `body received by group ${group}`);
    equal(store.keys.length, 1, "payloads put for one message published to two groups");
    await ctx.observe(500);
    check(
      await holds(store, store.keys[0]!),
      "a topic payload was deleted after an ack: another group may still need it",
    );
  },
});
