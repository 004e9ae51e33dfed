import { bytesCodec, createClient, ErrorCode, type Middleware } from "@omnibus/core";
import { check, equal, failsWith } from "../../assert.js";
import { clientCase } from "../../case.js";

export const clientBadInput = clientCase({
  id: "client/bad-input",
  title:
    "oversized messages, invalid names and headers and bad URLs give typed errors at the call site, and nothing reaches the queue",
  timeoutMs: 60_000,
  async run(ctx) {
    const bus = await ctx.client();
    const queue = ctx.name("bad");
    const tooBig = new Uint8Array(Math.min(bus.features.maxMessageBytes + 1, 512 * 1024 * 1024));
    await failsWith(
      () => bus.send(queue, tooBig, { codec: bytesCodec }),
      [ErrorCode.MessageTooLarge],
      "a body over maxMessageBytes",
    );
    for (const bad of [
      "",
      "has space",
      "slash/name",
      "star*",
      ".dot",
      "-dash",
      "x".repeat(201),
      "a..b",
      "ünï",
    ]) {
      await failsWith(
        () => bus.send(bad, 1),
        [ErrorCode.Config],
        `send() to the queue name ${JSON.stringify(bad)}`,
      );
    }
    await failsWith(
      () => bus.consume("bad name", () => {}),
      [ErrorCode.Config],
      "consume() of an invalid name",
    );
    await failsWith(
      () => bus.send(queue, 1, { headers: { n: 1 as unknown as string } }),
      [ErrorCode.Config],
      "a header whose value is not a string",
    );
    await failsWith(
      () => bus.consume(queue, "nope" as never),
      [ErrorCode.Config],
      "consume() without a handler function",
    );
    await failsWith(() => bus.send(queue, 1, { delayMs: -5 }), [ErrorCode.Config], "a negative delayMs");
    await failsWith(
      () => bus.consume(queue, () => {}, { concurrency: 0 }),
      [ErrorCode.Config],
      "concurrency 0",
    );
    await failsWith(
      async () => createClient({ url: "nope://x:s3cret@host" }),
      [ErrorCode.Config],
      "createClient() with an unknown URL scheme",
    ).then((error) => {
      check(
        !String((error as Error).message).includes("s3cret"),
        "the error of a bad URL contains its password",
      );
    });
    // Nothing rejected reached the queue: the first message consumed is the marker.
    const got: string[] = [];
    await bus.consume(queue, (m) => {
      got.push(m.id);
    });
    const marker = await bus.send(queue, "marker");
    await ctx.waitUntil(
      () => got.includes(marker),
      30_000,
      () => "the marker did not arrive",
    );
    await ctx.observe(300);
    equal(got, [marker], "ids consumed after the rejected sends");
  },
});

export const clientMiddleware = clientCase({
  id: "client/middleware",
  title:
    "middleware: client-level send and consume steps wrap every send, consume, subscribe and reply handler, outermost first",
  timeoutMs: 60_000,
  async run(ctx) {
    const trace: string[] = [];
    const tag = (name: string): Middleware => ({
      name,
      async send(c, next) {
        c.options.headers[`x-${name}`] = "1";
        trace.push(`send:${name}`);
        await next();
      },
      async consume(c, next) {
        trace.push(`consume:${name}:${c.message.headers[`x-${name}`] ?? "-"}`);
        await next();
      },
    });
    const bus = await ctx.client({ use: [tag("outer"), tag("inner")] });
    const queue = ctx.name("mw");
    const handled: string[] = [];
    await bus.consume(queue, (m) => {
      handled.push(m.id);
      trace.push("handler");
    });
    const id = await bus.send(queue, { hello: 1 });
    await ctx.waitUntil(
      () => handled.includes(id),
      15_000,
      () => "the message did not arrive",
    );
    equal(
      trace,
      ["send:outer", "send:inner", "consume:outer:1", "consume:inner:1", "handler"],
      "order of middleware steps",
    );
    if (bus.features.fanout) {
      trace.length = 0;
      const topic = ctx.name("mwtopic");
      const got: string[] = [];
      await bus.subscribe(topic, { group: "g" }, (m) => {
        got.push(m.id);
      });
      const eventId = await bus.publish(topic, 1);
      await ctx.waitUntil(
        () => got.includes(eventId),
        15_000,
        () => "the event did not arrive",
      );
      check(
        trace.includes("consume:outer:1"),
        `subscribe handlers must run inside the client's middleware; trace: ${trace.join(", ")}`,
      );
    }
    trace.length = 0;
    const rpc = ctx.name("mwrpc");
    await bus.reply(rpc, () => "pong");
    equal(await bus.request(rpc, "ping", { timeoutMs: ctx.t(10_000) }), "pong", "reply through middleware");
    check(
      trace.includes("consume:outer:1"),
      `reply handlers must run inside the client's middleware; trace: ${trace.join(", ")}`,
    );
  },
});
