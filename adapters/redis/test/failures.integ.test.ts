/**
 * Failures, on private servers (never the shared one, which is never paused, killed or given a
 * password): no error or log line holds a password, connect() and send() never wait without bound
 * (`connectTimeoutMs`, `sendTimeoutMs`), plus close() re-entrancy, frozen features and the size
 * limit measured as core measures it (on the shared server).
 */

import { randomBytes } from "node:crypto";
import { createServer, type Socket } from "node:net";
import { inspect } from "node:util";
import { brokerUrl, startPrivate } from "@omnibus/brokers";
import {
  type Adapter,
  type Delivery,
  ErrorCode,
  type Logger,
  type OutboundMessage,
  shortId,
  silentLogger,
  uuidv7,
} from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { Redis } from "ioredis";
import { describe, expect, it, onTestFinished } from "vitest";
import type { RedisNative } from "../src/adapter.js";
import { redis } from "../src/index.js";

const msg = (body = "x", extra: Partial<OutboundMessage> = {}): OutboundMessage => ({
  id: uuidv7(),
  body: Buffer.from(body),
  headers: {},
  timestamp: Date.now(),
  ...extra,
});

const secret = (label: string) => `${label}${randomBytes(6).toString("hex")}`;

/** Every string reachable from `value` (own properties, causes, `errors`, …) and its inspection. */
function reachable(value: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown, depth: number): void => {
    if (v === null || v === undefined) return;
    if (typeof v === "string") parts.push(v);
    else if (typeof v === "number" || typeof v === "boolean") parts.push(String(v));
    else if ((typeof v === "object" || typeof v === "function") && !seen.has(v) && depth <= 8) {
      seen.add(v);
      if (v instanceof Uint8Array) {
        parts.push(Buffer.from(v.subarray(0, 4096)).toString("utf8"));
        return;
      }
      for (const key of Reflect.ownKeys(v)) {
        if (typeof key === "string") parts.push(key);
        try {
          walk((v as Record<PropertyKey, unknown>)[key], depth + 1);
        } catch {
          // a getter that throws shows nothing
        }
      }
    }
  };
  walk(value, 0);
  parts.push(inspect(value, { depth: 10, showHidden: true }));
  return parts.join("\n");
}

/** A logger that keeps every line with its fields. */
function capturingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (message: string, fields?: Record<string, unknown>) => {
    lines.push(`${message} ${inspect(fields, { depth: 10 })}`);
  };
  return { lines, debug: log, info: log, warn: log, error: log };
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e as Error & { code?: string; cause?: unknown },
  );

function withPassword(url: string, password: string, user = ""): string {
  const u = new URL(url);
  u.username = user;
  u.password = encodeURIComponent(password);
  return u.toString();
}

describe("passwords never reach errors or logs", () => {
  it("a wrong password (default user and ACL user): connect() and the send after it fail with ConnectionError", async () => {
    await using server = await startPrivate("redis");
    const right = secret("Right");
    const wrong = secret("Wrong");
    const admin = new Redis(server.url);
    try {
      await admin.call("ACL", "SETUSER", "omnibus", "on", `>${right}`, "~*", "&*", "+@all");
      await admin.config("SET", "requirepass", right);
    } finally {
      admin.disconnect();
    }
    for (const user of ["", "omnibus"]) {
      const logger = capturingLogger();
      const a = redis({ url: withPassword(server.url, wrong, user), logger });
      try {
        const error = await failure(a.connect());
        expect(error).toMatchObject({ code: ErrorCode.Connection });
        expect(error!.message).toMatch(/WRONGPASS/);
        expect(error!.cause).toBeInstanceOf(Error);
        expect(reachable(error)).not.toContain(wrong);
        // ioredis's AUTH error is not kept as it is (its command.args hold the password). On RESP3
        // (ioredis 6's default) the password goes with HELLO 3 AUTH, on RESP2 with AUTH.
        expect((error!.cause as { command?: unknown }).command).toEqual({
          name: expect.stringMatching(/^(auth|hello)$/),
        });
        const started = Date.now();
        const sendError = await failure(a.send({ kind: "queue", name: "q" }, [msg()]));
        expect(Date.now() - started).toBeLessThan(2000);
        expect(sendError).toMatchObject({ code: ErrorCode.Connection });
        expect(reachable(sendError)).not.toContain(wrong);
        expect(a.native.client.status).toBe("end");
      } finally {
        await a.close();
      }
      expect(logger.lines.join("\n")).not.toContain(wrong);
    }
  });

  it("a password changed under a connected adapter: sends ioredis rejects with the AUTH error hold no password", async () => {
    await using server = await startPrivate("redis");
    const old = secret("Old");
    const admin = new Redis(server.url);
    await admin.config("SET", "requirepass", old);
    await admin.auth(old);
    const logger = capturingLogger();
    const a = redis({ url: withPassword(server.url, old), claimIdleMs: 300, logger });
    try {
      await a.connect();
      const got: Delivery[] = [];
      await a.consume(
        { kind: "queue", name: "rotated" },
        { prefetch: 10, onDelivery: (d) => got.push(d), onError: () => {} },
      );
      await a.send({ kind: "queue", name: "rotated" }, [msg("before")]);
      await waitFor(() => got.length === 1);
      // The password changes and every connection drops: ioredis reconnects with the old one, its
      // AUTH fails, and it rejects what it queued meanwhile with that AUTH error.
      await admin.config("SET", "requirepass", secret("New"));
      // ioredis 6 has no typed overload of CLIENT KILL: sent as a raw command.
      await admin.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
      await waitFor(() => a.native.client.status !== "ready", { timeoutMs: 5000 });
      const error = await failure(a.send({ kind: "queue", name: "rotated" }, [msg("after")]));
      expect(error).toMatchObject({ code: ErrorCode.Publish });
      expect(reachable(error)).not.toContain(old);
      // The path under test: the AUTH error is the cause (scrubbed), not a timeout.
      expect(reachable(error)).toMatch(/WRONGPASS/);
      const nackError = await failure(got[0]!.nack());
      expect(nackError).toMatchObject({ code: ErrorCode.Connection });
      expect(reachable(nackError)).not.toContain(old);
    } finally {
      await a.close();
      admin.disconnect();
    }
    expect(logger.lines.join("\n")).not.toContain(old);
  });
});

describe("no wait without bound", () => {
  it("a server that accepts connections and never answers: connect() fails after connectTimeoutMs, and so does a send", async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    const password = secret("Silent");
    const a = redis({
      url: `redis://:${password}@127.0.0.1:${port}`,
      connectTimeoutMs: 300,
      logger: silentLogger,
    });
    try {
      let started = Date.now();
      const error = await failure(a.connect());
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(error).toMatchObject({ code: ErrorCode.Connection });
      expect(error!.message).toMatch(/within 300 ms/);
      expect(reachable(error)).not.toContain(password);
      started = Date.now();
      const sendError = await failure(a.send({ kind: "queue", name: "q" }, [msg()]));
      expect(Date.now() - started).toBeLessThan(3000);
      expect(sendError).toMatchObject({ code: ErrorCode.Connection });
    } finally {
      await a.close();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it("a server that stops answering: sends fail after sendTimeoutMs (also those waiting for back-pressure), and later ones succeed", async () => {
    await using server = await startPrivate("redis");
    const a = redis({ url: server.url, sendTimeoutMs: 300, maxInFlightSends: 1, logger: silentLogger });
    const admin = new Redis(server.url);
    try {
      await a.connect();
      await a.send({ kind: "queue", name: "paused" }, [msg("first")]);
      await admin.client("PAUSE", 1500, "ALL");
      const started = Date.now();
      const [inFlight, waiting] = await Promise.all([
        failure(a.send({ kind: "queue", name: "paused" }, [msg("a")])),
        failure(a.send({ kind: "queue", name: "paused" }, [msg("b")])),
      ]);
      expect(Date.now() - started).toBeLessThan(1400);
      for (const e of [inFlight, waiting]) {
        expect(e).toMatchObject({ code: ErrorCode.Publish, retryable: true });
        expect(e!.message).toMatch(/not confirmed within 300 ms/);
      }
      // Once the server answers again, so do sends.
      await waitFor(
        async () => {
          try {
            await a.send({ kind: "queue", name: "paused" }, [msg("later")]);
            return true;
          } catch {
            return false;
          }
        },
        { timeoutMs: 10_000, intervalMs: 100 },
      );
    } finally {
      await a.close();
      admin.disconnect();
    }
  });

  it("Redis gone, with ioredis told to queue commands forever: a send still fails after sendTimeoutMs", async () => {
    await using server = await startPrivate("redis");
    const a = redis({
      url: server.url,
      sendTimeoutMs: 300,
      redis: { maxRetriesPerRequest: null },
      logger: silentLogger,
    });
    try {
      await a.connect();
      await server.kill();
      const started = Date.now();
      const error = await failure(a.send({ kind: "queue", name: "gone" }, [msg()]));
      expect(Date.now() - started).toBeLessThan(2000);
      expect(error).toMatchObject({ code: ErrorCode.Publish });
      expect(error!.message).toMatch(/not confirmed within 300 ms \(Redis unreachable/);
    } finally {
      const started = Date.now();
      await a.close();
      expect(Date.now() - started).toBeLessThan(5000);
    }
  });
});

describe("lifecycle and limits", () => {
  const URL = brokerUrl("redis");
  const PREFIX = `omnibus-fail-${shortId()}`;

  it("features are frozen", () => {
    const a = redis({ url: URL, prefix: PREFIX });
    expect(Object.isFrozen(a.features)).toBe(true);
    expect(() => {
      (a.features as { maxMessageBytes: number }).maxMessageBytes = 1;
    }).toThrowError(TypeError);
  });

  it("a second close() returns only once the first has finished; the adapter is closed after", async () => {
    const a: Adapter<RedisNative> = redis({ url: URL, prefix: PREFIX, logger: silentLogger });
    await a.connect();
    const queue = `twice-${shortId()}`;
    await a.consume({ kind: "queue", name: queue }, { prefetch: 5, onDelivery: () => {}, onError: () => {} });
    onTestFinished(async () => {
      const cleanup = redis({ url: URL, prefix: PREFIX, logger: silentLogger });
      await cleanup.deleteQueue!(queue);
      await cleanup.close();
    });
    let firstDone = false;
    const first = a.close().then(() => {
      firstDone = true;
    });
    await a.close();
    expect(firstDone).toBe(true);
    await first;
    expect(a.native.client.status).toBe("end");
    expect(await failure(a.connect())).toMatchObject({ code: ErrorCode.Closed });
    expect(await failure(a.send({ kind: "queue", name: "q" }, [msg()]))).toMatchObject({
      code: ErrorCode.Closed,
    });
  });

  it("the size limit is body + header names and values, as core measures it: exactly the limit passes", async () => {
    const max = 1000;
    const a = redis({ url: URL, prefix: PREFIX, maxMessageBytes: max, logger: silentLogger });
    const admin = new Redis(URL);
    try {
      const queue = `size-${shortId()}`;
      const headers = { "content-type": "application/octet-stream", "x-ü": "välue ✓" };
      const headerBytes = Object.entries(headers).reduce(
        (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v),
        0,
      );
      const body = randomBytes(max - headerBytes);
      // Id, key, correlation id, reply-to and timestamp are the adapter's to carry, not counted.
      const exact = msg("", { body, headers, key: "k".repeat(100), correlationId: "c", replyTo: "r" });
      await a.send({ kind: "queue", name: queue }, [exact]);
      const over = msg("", { body: randomBytes(max - headerBytes + 1), headers });
      expect(await failure(a.send({ kind: "queue", name: queue }, [over]))).toMatchObject({
        code: ErrorCode.MessageTooLarge,
      });
      const got: Delivery[] = [];
      await a.consume(
        { kind: "queue", name: queue },
        { prefetch: 5, onDelivery: (d) => got.push(d), onError: () => {} },
      );
      await waitFor(() => got.length === 1);
      expect(Buffer.from(got[0]!.message.body).equals(body)).toBe(true);
      expect(got[0]!.message.headers).toEqual(headers);
      await got[0]!.ack();
      await a.close();
      await admin.del(`${PREFIX}:{q:${queue}}:stream`, `${PREFIX}:{q:${queue}}:delayed`);
    } finally {
      await a.close();
      admin.disconnect();
    }
  });
});
