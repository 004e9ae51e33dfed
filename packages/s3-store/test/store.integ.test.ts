// The S3 store against fauxqs's S3 API (the `sns` broker of `pnpm brokers`: SNS, SQS and S3 on
// one endpoint, path-style, any credentials), and then the claim-check conformance cases with it
// on SQS + SNS (fauxqs) and on Redis.
import { DeleteBucketCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { brokerUrl } from "@omnibus/brokers";
import { clientCases, runCases } from "@omnibus/conformance";
import { ErrorCode, shortId } from "@omnibus/core";
import { redis } from "@omnibus/redis";
import { sqs } from "@omnibus/sqs";
import { afterAll, describe, expect, it } from "vitest";
import { s3BlobStore } from "../src/index.js";

const endpoint = brokerUrl("sns");
const bucket = `omnibus-test-${shortId()}`;
const store = s3BlobStore({ bucket, endpoint, createBucket: true });
const REDIS_PREFIX = `omnibus-s3-${shortId()}`;
const info = { size: 0, sha256: "0".repeat(64), contentType: "application/octet-stream" };

afterAll(async () => {
  const left = await store.native.send(new ListObjectsV2Command({ Bucket: bucket }));
  // What the tests leave behind is a failure below; the bucket goes in any case.
  for (const o of left.Contents ?? []) await store.delete(o.Key!);
  await store.native.send(new DeleteBucketCommand({ Bucket: bucket }));
  await store.close();
  expect(left.KeyCount ?? 0, "objects left in the bucket").toBe(0);
});

async function read(found: unknown): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of found as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

describe("s3BlobStore on fauxqs", () => {
  it("puts, streams back and deletes a payload; a missing key reads as undefined", async () => {
    const body = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    await store.put("queue/q/one", body, { ...info, size: body.byteLength });
    expect((await read(await store.get("queue/q/one"))).equals(body)).toBe(true);
    await store.delete("queue/q/one");
    expect(await store.get("queue/q/one")).toBeUndefined();
    await store.delete("queue/q/one"); // already gone: resolves
  });

  it("refuses keys the claim check could not have made", async () => {
    for (const key of ["../x", "/abs", "a//b", "a/../b"])
      await expect(store.get(key), key).rejects.toMatchObject({ code: ErrorCode.Config });
  });

  it("checks its options", () => {
    expect(() => s3BlobStore({ bucket: "Bad_Bucket" })).toThrowError(
      expect.objectContaining({ code: ErrorCode.Config }),
    );
    expect(() => s3BlobStore({ bucket: "fine-bucket", endpoint: "not a url" })).toThrowError(/endpoint/);
    expect(s3BlobStore({ bucket: "fine-bucket", endpoint }).name).toBe("s3:fine-bucket");
  });

  it("an unreachable endpoint is a retryable ConnectionError that does not show the secret", async () => {
    const secret = `s3cr3t-${shortId()}`;
    const down = s3BlobStore({
      bucket: "nowhere",
      endpoint: "http://127.0.0.1:1",
      credentials: { accessKeyId: "omnibus", secretAccessKey: secret },
      clientConfig: { maxAttempts: 1 },
    });
    const error = await down.put("queue/q/k", new Uint8Array(1), info).then(
      () => undefined,
      (e: unknown) => e,
    );
    await down.close();
    expect(error).toMatchObject({ code: ErrorCode.Connection, retryable: true });
    const seen = new Set<unknown>();
    const text = (value: unknown): string => {
      if (value === null || typeof value !== "object" || seen.has(value)) return String(value);
      seen.add(value);
      const e = value as { message?: unknown; stack?: unknown; cause?: unknown };
      return `${String(e.message)} ${String(e.stack)} ${text(e.cause)} ${JSON.stringify(value) ?? ""}`;
    };
    expect(text(error)).not.toContain(secret);
  });
});

/** The claim-check cases of the conformance suite, with payloads in this bucket. */
const claimCheckCases = clientCases.filter((c) => c.id.startsWith("client/claim-check"));

describe.each([
  {
    broker: "sqs + sns on fauxqs",
    adapter: () =>
      sqs({
        endpoint,
        sns: endpoint,
        bmpOnly: true,
        persistent: false,
        visibilityTimeoutSeconds: 5,
        waitTimeSeconds: 1,
      }),
  },
  {
    broker: "redis",
    adapter: () => redis({ url: brokerUrl("redis"), prefix: REDIS_PREFIX }),
  },
])("claim-check conformance cases with the S3 store: $broker", ({ broker, adapter }) => {
  it("passes client/claim-check and client/claim-check-topic", async () => {
    expect(claimCheckCases.map((c) => c.id)).toEqual(["client/claim-check", "client/claim-check-topic"]);
    const results = await runCases(
      { name: broker, adapter, blobStore: () => store },
      { cases: claimCheckCases },
    );
    expect(results.map((r) => `${r.id}: ${r.status}${r.message ? ` (${r.message})` : ""}`)).toEqual([
      "client/claim-check: passed",
      "client/claim-check-topic: passed",
    ]);
  }, 240_000);
});
