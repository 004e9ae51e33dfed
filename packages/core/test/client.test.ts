// Core behaviour on the reference broker (@omnibus/memory): retries, DLQ routing, control-flow
// errors, request-reply, middleware, contracts, URL resolution and shutdown.
import {
  type Adapter,
  type Client,
  ConfigError,
  createClient,
  DeadLetterError,
  deadLetterQueueFor,
  defineContract,
  ErrorCode,
  HeaderNames,
  idempotency,
  knownSchemes,
  type Message,
  type Middleware,
  memoryIdempotencyStore,
  RetryLaterError,
  registerAdapter,
  shortId,
  silentLogger,
} from "@omnibus/core";
import { waitFor } from "@omnibus/core/testing";
import { memory } from "@omnibus/memory";
import type { StandardSchemaV1 } from "@standard-schema/spec";
import { afterEach, describe, expect, it } from "vitest";

const open: Client<any>[] = [];
function bus(extra: Parameters<typeof createClient>[0] = {}): Client {
  const c = createClient({ adapter: memory({ name: "core-tests" }), logger: silentLogger, ...extra });
  open.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});
const q = (label: string) => `${label}-${shortId()}`;

describe("retry and dead-lettering", () => {
  it("retries with growing backoff and dead-letters after maxAttempts with the reason", async () => {
    const c = bus({ retry: { initialDelayMs: 40, multiplier: 2, jitter: 0 } });
    const queue = q("retry");
    const seen: { attempt: number; at: number }[] = [];
    await c.consume(
      queue,
      (m) => {
        seen.push({ attempt: m.attempt, at: Date.now() });
        throw Object.assign(new Error("db down"), { code: "DB_DOWN" });
      },
      { retry: { maxAttempts: 4 } },
    );
    const dead: Message[] = [];
    await c.consume(`${queue}.dlq`, (m) => {
      dead.push(m);
    });
    const id = await c.send(queue, { order: 1 }, { headers: { tenant: "t1" } });
    await waitFor(() => dead.length === 1);
    expect(seen.map((s) => s.attempt)).toEqual([1, 2, 3, 4]);
    const gaps = seen.slice(1).map((s, i) => s.at - seen[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(35);
    expect(gaps[1]).toBeGreaterThanOrEqual(75);
    expect(gaps[2]).toBeGreaterThanOrEqual(155);
    const d = dead[0]!;
    expect(d.id).toBe(id);
    expect(d.headers.tenant).toBe("t1");
    expect(d.headers[HeaderNames.DeadLetterReason]).toBe("db down");
    expect(d.headers[HeaderNames.DeadLetterCode]).toBe("DB_DOWN");
    expect(d.headers[HeaderNames.DeadLetterAttempts]).toBe("4");
    expect(d.headers[HeaderNames.DeadLetterOrigin]).toBe(`queue:${queue}`);
  });

  it("DeadLetterError skips the remaining attempts; a custom DLQ name is used", async () => {
    const c = bus();
    const queue = q("dl-now");
    const dlq = q("parking");
    let calls = 0;
    await c.consume(
      queue,
      () => {
        calls++;
        throw new DeadLetterError("invalid order");
      },
      { deadLetterQueue: dlq },
    );
    const dead: Message[] = [];
    await c.consume(dlq, (m) => {
      dead.push(m);
    });
    await c.send(queue, 1);
    await waitFor(() => dead.length === 1);
    expect(calls).toBe(1);
    expect(dead[0]!.headers[HeaderNames.DeadLetterCode]).toBe(ErrorCode.DeadLetter);
  });

  it("RetryLaterError redelivers after its own delay", async () => {
    const c = bus({ retry: { initialDelayMs: 5_000 } });
    const queue = q("later");
    const at: number[] = [];
    await c.consume(queue, (m) => {
      at.push(Date.now());
      if (m.attempt === 1) throw new RetryLaterError(100);
    });
    await c.send(queue, 1);
    await waitFor(() => at.length === 2);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(95);
    expect(at[1]! - at[0]!).toBeLessThan(2_000);
  });

  it("a subscription dead-letters to <topic>.<group>.<hash>.dlq", async () => {
    const c = bus();
    const topic = q("events");
    const sub = await c.subscribe(topic, { group: "billing", retry: { maxAttempts: 1 } }, () => {
      throw new Error("nope");
    });
    expect(sub.deadLetterQueue).toBe(deadLetterQueueFor({ kind: "topic", name: topic, group: "billing" }));
    expect(sub.deadLetterQueue).toMatch(new RegExp(`^${topic}\\.billing\\.[0-9a-f]{10}\\.dlq$`));
    expect(deadLetterQueueFor({ kind: "topic", name: "a.b", group: "c" })).not.toBe(
      deadLetterQueueFor({ kind: "topic", name: "a", group: "b.c" }),
    );
    const dead: Message[] = [];
    await c.consume(sub.deadLetterQueue, (m) => {
      dead.push(m);
    });
    await c.publish(topic, { x: 1 });
    await waitFor(() => dead.length === 1);
    expect(dead[0]!.headers[HeaderNames.DeadLetterOrigin]).toBe(`topic:${topic}/billing`);
  });
});

describe("idempotency middleware", () => {
  it("a failing release() does not replace the handler's error: the message is retried as the handler asked", async () => {
    const store = memoryIdempotencyStore();
    const broken = { ...store, release: async () => Promise.reject(new Error("store down")) };
    const c = bus();
    const queue = q("release");
    await c.consume(
      queue,
      () => {
        throw new DeadLetterError("the handler's own verdict");
      },
      { use: [idempotency({ store: broken, lockMs: 200, retryDelayMs: 20 })] },
    );
    const dead: Message[] = [];
    await c.consume(`${queue}.dlq`, (m) => {
      dead.push(m);
    });
    await c.send(queue, 1);
    await waitFor(() => dead.length === 1);
    expect(dead[0]!.headers[HeaderNames.DeadLetterCode]).toBe(ErrorCode.DeadLetter);
    expect(dead[0]!.headers[HeaderNames.DeadLetterReason]).toBe("the handler's own verdict");
  });
});

describe("middleware", () => {
  it("wraps sends and handlers as an onion", async () => {
    const trace: string[] = [];
    const tag = (name: string): Middleware => ({
      name,
      async send(ctx, next) {
        ctx.options.headers[`x-${name}`] = "1";
        trace.push(`send ${name}>`);
        await next();
        trace.push(`send <${name}`);
      },
      async consume(_ctx, next) {
        trace.push(`consume ${name}>`);
        await next();
        trace.push(`consume <${name}`);
      },
    });
    const c = bus({ use: [tag("outer"), tag("inner")] });
    const queue = q("mw");
    const got: Message[] = [];
    await c.consume(queue, (m) => {
      trace.push("handler");
      got.push(m);
    });
    await c.send(queue, "x");
    await waitFor(() => got.length === 1);
    expect(got[0]!.headers["x-outer"]).toBe("1");
    expect(got[0]!.headers["x-inner"]).toBe("1");
    expect(trace).toEqual([
      "send outer>",
      "send inner>",
      "send <inner",
      "send <outer",
      "consume outer>",
      "consume inner>",
      "handler",
      "consume <inner",
      "consume <outer",
    ]);
  });
});

// A tiny Standard Schema, as zod or valibot would provide.
function schema<T>(check: (v: unknown) => v is T): StandardSchemaV1<T, T> {
  return {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (value) => (check(value) ? { value } : { issues: [{ message: "bad shape", path: ["qty"] }] }),
    },
  };
}
const isOrder = (v: unknown): v is { sku: string; qty: number } =>
  typeof v === "object" && v !== null && typeof (v as { qty?: unknown }).qty === "number";

describe("contracts", () => {
  const contract = defineContract({
    queues: { orders: schema(isOrder) },
    requests: {
      price: {
        request: schema((v): v is { sku: string } => typeof v === "object"),
        response: schema((v): v is number => typeof v === "number"),
      },
    },
  });

  it("validates on send with a typed error", async () => {
    const c = createClient({ adapter: memory({ name: q("contract") }), contract, logger: silentLogger });
    open.push(c);
    await expect(c.send("orders", { sku: "a", qty: "2" as unknown as number })).rejects.toMatchObject({
      code: ErrorCode.Validation,
      message: expect.stringContaining("qty: bad shape"),
    });
    await expect(c.send("orders", { sku: "a", qty: 2 })).resolves.toBeTypeOf("string");
  });

  it("dead-letters a received body that fails the schema", async () => {
    const name = q("contract-in");
    const loose = createClient({ adapter: memory({ name }), logger: silentLogger });
    const strict = createClient({ adapter: memory({ name }), contract, logger: silentLogger });
    open.push(loose, strict);
    const handled: unknown[] = [];
    await strict.consume("orders", (m) => {
      handled.push(m.body);
    });
    const dead: Message[] = [];
    await loose.consume("orders.dlq", (m) => {
      dead.push(m);
    });
    await loose.send("orders", { sku: "x" });
    await loose.send("orders", { sku: "y", qty: 1 });
    await waitFor(() => dead.length === 1 && handled.length === 1);
    expect(handled).toEqual([{ sku: "y", qty: 1 }]);
    expect(dead[0]!.headers[HeaderNames.DeadLetterCode]).toBe(ErrorCode.Validation);
  });

  it("types request and response", async () => {
    const c = createClient({ adapter: memory({ name: q("contract-rpc") }), contract, logger: silentLogger });
    open.push(c);
    await c.reply("price", (m) => m.body.sku.length * 10);
    const price: number = await c.request("price", { sku: "abc" });
    expect(price).toBe(30);
  });
});

describe("request-reply", () => {
  it("answers many concurrent requests from several callers, each with its own reply", async () => {
    const server = bus();
    const queue = q("rpc");
    await server.reply(queue, async (m) => ({ echo: m.body, by: "server" }));
    const callers = [bus(), bus(), bus()];
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => callers[i % 3]!.request(queue, { i }, { timeoutMs: 5_000 })),
    );
    expect(results).toEqual(Array.from({ length: 300 }, (_, i) => ({ echo: { i }, by: "server" })));
  });
  it("times out with RequestTimeoutError and ignores a late reply", async () => {
    const server = bus();
    const caller = bus();
    const queue = q("slow");
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    await server.reply(queue, async () => {
      await gate;
      return "late";
    });
    await expect(caller.request(queue, {}, { timeoutMs: 100 })).rejects.toMatchObject({
      code: ErrorCode.RequestTimeout,
    });
    release();
    await expect(caller.request(queue, {}, { timeoutMs: 2_000 })).resolves.toBe("late");
  });
  it("reopens the request inbox after its consumer failed for good", async () => {
    // An adapter whose first inbox consumer dies after one reply, as a broker connection would.
    const inner = memory({ name: "core-tests" });
    let inboxes = 0;
    const failing: Adapter = {
      ...inner,
      name: inner.name,
      features: inner.features,
      get native() {
        return inner.native;
      },
      connect: () => inner.connect(),
      send: (a, m) => inner.send(a, m),
      close: () => inner.close(),
      consume: async (source, options) => {
        if (!(source.kind === "queue" && source.ephemeral)) return inner.consume(source, options);
        const n = ++inboxes;
        let seen = 0;
        return inner.consume(source, {
          ...options,
          onDelivery: (d) => {
            // The first inbox takes one reply, then its connection is gone for good.
            if (n === 1 && seen++ >= 1) return;
            options.onDelivery(d);
            if (n === 1) options.onError(new Error("inbox connection lost"));
          },
        });
      },
    };
    const server = bus();
    const queue = q("inbox");
    await server.reply(queue, (m) => m.body);
    const caller = bus({ adapter: failing });
    expect(await caller.request(queue, 1, { timeoutMs: 2_000 })).toBe(1);
    expect(await caller.request(queue, 2, { timeoutMs: 2_000 })).toBe(2);
    expect(inboxes).toBe(2);
  });
  it("pending requests fail with ClosedError when the client closes", async () => {
    const caller = bus();
    const pending = caller.request(q("nobody"), {}, { timeoutMs: 10_000 });
    await waitFor(async () => true);
    await caller.close();
    await expect(pending).rejects.toMatchObject({ code: ErrorCode.Closed });
  });
});

describe("client", () => {
  it("resolves memory:// through the adapter package", async () => {
    const c = createClient({ url: "memory://url-test", logger: silentLogger });
    open.push(c);
    const queue = q("url");
    const got: unknown[] = [];
    await c.consume(queue, (m) => {
      got.push(m.body);
    });
    await c.send(queue, "hi");
    await waitFor(() => got.length === 1);
    expect(c.adapterName).toBe("memory");
  });
  it("rejects bad URLs and options at once with config errors", () => {
    expect(() => createClient({ url: "ftp://x" })).toThrowError(
      expect.objectContaining({ code: ErrorCode.Config }),
    );
    expect(() => createClient({ url: "no scheme" })).toThrowError(
      expect.objectContaining({ code: ErrorCode.Config }),
    );
    expect(() => createClient({ url: "memory://", retry: { maxAttempts: 0 } })).toThrowError(
      expect.objectContaining({ code: ErrorCode.Config }),
    );
  });
  it("hands its logger to the adapter before connecting", async () => {
    const lines: string[] = [];
    const logger = { ...silentLogger, warn: (m: string) => void lines.push(m) };
    const inner = memory({ name: "core-tests" });
    let given: unknown;
    const adapter: Adapter = {
      name: inner.name,
      features: inner.features,
      native: undefined,
      connect: () => inner.connect(),
      send: (a, m) => inner.send(a, m),
      consume: (source, o) => inner.consume(source, o),
      close: () => inner.close(),
      useLogger: (l) => {
        given = l;
      },
    };
    const c = bus({ adapter, logger });
    await c.connect();
    // The client's logger, wrapped so that no line carries a password.
    (given as { warn(m: string, f?: object): void }).warn("from the adapter: amqp://u:hunter2@h:1", {});
    expect(lines).toEqual(["from the adapter: amqp://u:***@h:1"]);
  });
  it("opens URLs of schemes registered by other packages, or given to one client", async () => {
    const made: string[] = [];
    const fake = {
      fromUrl: (url: string) => {
        made.push(url);
        return memory({ name: "core-tests" });
      },
    };
    registerAdapter("acme", () => fake);
    const a = createClient({ url: "acme://broker-1", logger: silentLogger });
    open.push(a);
    await a.connect();
    expect(a.adapterName).toBe("memory");
    const b = createClient({ url: "other://x", adapters: { other: fake }, logger: silentLogger });
    open.push(b);
    await b.connect();
    expect(made).toEqual(["acme://broker-1", "other://x"]);
    expect(knownSchemes()).toContain("acme");
    expect(() => registerAdapter("bad scheme", fake)).toThrowError(
      expect.objectContaining({ code: ErrorCode.Config }),
    );
  });
  it("checks a URL at createClient when the adapter's module is at hand", () => {
    // @omnibus/memory is imported by this file: memory:// is registered as a module.
    expect(() => createClient({ url: "memory://?nope=1" })).toThrowError(
      expect.objectContaining({ code: ErrorCode.Config }),
    );
    const strict = {
      fromUrl: () => {
        throw new ConfigError("strict: bad URL");
      },
    };
    expect(() => createClient({ url: "strict://x", adapters: { strict } })).toThrowError(/strict: bad URL/);
  });
  it("works with await using", async () => {
    const queue = q("dispose");
    let closedBus: Client;
    {
      await using c = createClient({ adapter: memory({ name: "core-tests" }), logger: silentLogger });
      closedBus = c;
      await c.send(queue, 1);
    }
    await expect(closedBus.send(queue, 2)).rejects.toMatchObject({ code: ErrorCode.Closed });
  });
});

describe("whatever a handler returns or rejects with (issue 16)", () => {
  it("settles every message and never leaves an unhandled rejection", async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const getterThrows = new Error("hidden");
    Object.defineProperty(getterThrows, "message", {
      get() {
        throw new Error("message getter");
      },
    });
    // biome-ignore lint/suspicious/noThenProperty: the test returns thenables on purpose
    const thenGetterThrows = Object.defineProperty({}, "then", {
      get() {
        throw Object.create(null);
      },
    });
    // Returned values that are not promises: the handler succeeded.
    const succeed: Record<string, () => unknown> = {
      number: () => 42,
      "null-prototype": () => Object.create(null),
      frozen: () => Object.freeze({ x: 1 }),
      symbol: () => Symbol("returned"),
      cyclic: () => cyclic,
      // biome-ignore lint/suspicious/noThenProperty: the test returns thenables on purpose
      "then not callable": () => ({ then: 5 }),
    };
    // Returned thenables that fail: the handler failed (dead-lettered after one attempt).
    const fail: Record<string, () => unknown> = {
      "rejects with a null-prototype object": () => Promise.reject(Object.create(null)),
      "thenable rejecting with a symbol": () => ({
        // biome-ignore lint/suspicious/noThenProperty: the test returns thenables on purpose
        then: (_ok: unknown, no: (e: unknown) => void) => no(Symbol("x")),
      }),
      "thenable whose then getter throws": () => thenGetterThrows,
      "rejects with an Error whose message getter throws": () => Promise.reject(getterThrows),
      "thenable whose then throws undefined": () => ({
        // biome-ignore lint/suspicious/noThenProperty: the test returns thenables on purpose
        then() {
          throw undefined;
        },
      }),
    };
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const c = bus();
      const queue = q("returns");
      const runs = new Map<string, number>();
      await c.consume(
        queue,
        ((m: Message) => {
          const kind = m.body as string;
          runs.set(kind, (runs.get(kind) ?? 0) + 1);
          return (succeed[kind] ?? fail[kind])!();
        }) as unknown as (m: Message) => void,
        { retry: { maxAttempts: 1 } },
      );
      const dead: Message[] = [];
      await c.consume(`${queue}.dlq`, (m) => {
        dead.push(m);
      });
      const kinds = [...Object.keys(succeed), ...Object.keys(fail)];
      await c.sendBatch(
        queue,
        kinds.map((body) => ({ body })),
      );
      await waitFor(() => dead.length >= Object.keys(fail).length, {
        timeoutMs: 3_000,
        message: () => `dead-lettered: ${dead.map((m) => m.body).join(", ")}`,
      });
      // Everything settled: nothing waits or is in flight on the queue.
      await waitFor(
        async () => {
          const s = await c.stats(queue, { deadLetterQueue: false });
          return s.depth === 0 && s.inFlight === 0;
        },
        { timeoutMs: 3_000 },
      );
      expect(dead.map((m) => m.body as string).sort()).toEqual(Object.keys(fail).sort());
      for (const m of dead) expect(m.headers[HeaderNames.DeadLetterReason], String(m.body)).toMatch(/./);
      expect(kinds.map((k) => runs.get(k))).toEqual(kinds.map(() => 1));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
