import { ErrorCode, type Message } from "@omnibus/core";
import { afterDelay, check, equal, rejectsWith } from "../../assert.js";
import { clientCase } from "../../case.js";

export const clientRequestReply = clientCase({
  id: "client/request-reply",
  title:
    "request-reply: the reply matches the request, also with 200 requests in flight; the replier sees correlationId and replyTo",
  timeoutMs: 60_000,
  async run(ctx) {
    const server = await ctx.client();
    const caller = await ctx.client();
    const queue = ctx.name("rpc");
    const seen: Message[] = [];
    await server.reply(queue, (m) => {
      if (seen.length < 5) seen.push(m);
      const { a, b } = m.body as { a: number; b: number };
      return { sum: a + b };
    });
    const one = (await caller.request(queue, { a: 2, b: 3 }, { timeoutMs: ctx.t(10_000) })) as {
      sum: number;
    };
    equal(one, { sum: 5 }, "the reply to one request");
    check(
      seen[0]?.replyTo !== undefined && seen[0].correlationId !== undefined,
      "the replier must see replyTo and correlationId",
    );
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        caller
          .request(queue, { a: i, b: 1000 }, { timeoutMs: ctx.t(30_000) })
          .then((r) => (r as { sum: number }).sum),
      ),
    );
    equal(
      answers,
      Array.from({ length: 200 }, (_, i) => i + 1000),
      "replies to 200 concurrent requests, in request order",
    );
  },
});

export const clientRequestErrors = clientCase({
  id: "client/request-errors",
  title:
    "request-reply: a remote throw arrives as RemoteError with its message and code; no replier gives RequestTimeoutError on time",
  timeoutMs: 60_000,
  async run(ctx) {
    const server = await ctx.client();
    const caller = await ctx.client();
    const queue = ctx.name("rpcerr");
    await server.reply(queue, () => {
      throw Object.assign(new Error("out of stock"), { code: "OUT_OF_STOCK" });
    });
    const remote = (await rejectsWith(
      caller.request(queue, {}, { timeoutMs: ctx.t(10_000) }),
      [ErrorCode.RemoteError],
      "a request whose replier throws",
    )) as {
      remoteMessage?: string;
      remoteCode?: string;
    };
    equal(remote.remoteMessage, "out of stock", "remoteMessage");
    equal(remote.remoteCode, "OUT_OF_STOCK", "remoteCode");
    const started = Date.now();
    await rejectsWith(
      caller.request(ctx.name("rpcnobody"), {}, { timeoutMs: 300 }),
      [ErrorCode.RequestTimeout],
      "a request nobody answers",
      ctx.t(5_000),
    );
    afterDelay(Date.now() - started, 300, ctx.t(3_000), "time until RequestTimeoutError with timeoutMs 300");
  },
});
