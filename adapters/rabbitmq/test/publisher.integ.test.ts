import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import amqp, { type ChannelModel, type ConfirmChannel, type GetMessage, type Options } from "amqplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropSocket, Publisher } from "../src/link.js";
import { unique, url } from "./helpers.js";

/** The amqplib version installed (its `exports` do not include package.json). */
const amqplibVersion: string = JSON.parse(
  readFileSync(join(dirname(createRequire(import.meta.url).resolve("amqplib")), "package.json"), "utf8"),
).version;

/**
 * The Publisher's fast path calls two amqplib internals (`pushConfirmCallback`, `sendMessage`)
 * instead of `ConfirmChannel.publish`, to skip the `Object.create(headers)` table amqplib builds.
 * These tests prove it on the amqplib the adapter is tested with (the peer range covers only
 * that major): the internals are there, the fast path is the one taken, and what reaches the
 * broker is what `publish` sends.
 */
describe(`rabbitmq Publisher on amqplib ${amqplibVersion}`, () => {
  let connection: ChannelModel;
  let channel: ConfirmChannel;
  let raw: ConfirmChannel;
  const queues: string[] = [];

  beforeAll(async () => {
    connection = await amqp.connect(url);
    channel = await connection.createConfirmChannel();
    raw = await connection.createConfirmChannel();
  });

  afterAll(async () => {
    for (const q of queues) await raw.deleteQueue(q).catch(() => {});
    await connection?.close().catch(() => {});
  });

  /** A fresh queue; `get` one message from it. */
  async function queue(): Promise<{ name: string; get: () => Promise<GetMessage> }> {
    const name = unique("publisher");
    queues.push(name);
    await raw.assertQueue(name, { durable: false });
    return {
      name,
      get: async () => {
        for (let i = 0; i < 200; i++) {
          const m = await raw.get(name, { noAck: true });
          if (m) return m;
          await new Promise((r) => setTimeout(r, 10));
        }
        throw new Error(`nothing in ${name}`);
      },
    };
  }

  it("the amqplib internals the fast path needs are there", () => {
    const ch = channel as unknown as Record<string, unknown>;
    expect(typeof ch.pushConfirmCallback).toBe("function");
    expect(typeof ch.sendMessage).toBe("function");
    expect(Array.isArray(ch.unconfirmed)).toBe(true);
  });

  it("takes the fast path, and the broker gets what ConfirmChannel.publish sends", async () => {
    const options: Options.Publish = {
      persistent: true,
      mandatory: true,
      contentType: "application/json",
      headers: { "omnibus-key": "k-1", ünï: "☃", n: 7 },
      priority: 3,
      correlationId: "corr-1",
      replyTo: "replies.here",
      messageId: "m-1",
      timestamp: 1_700_000_000,
    };
    const body = Buffer.from('{"a":1}');

    const viaPublish = await queue();
    await new Promise<void>((resolve, reject) =>
      raw.publish("", viaPublish.name, body, options, (error) => (error ? reject(error) : resolve())),
    );

    const viaFastPath = await queue();
    const publisher = new Publisher(channel);
    const ch = channel as unknown as { publish: unknown; sendMessage: (...args: unknown[]) => boolean };
    const publish = ch.publish;
    const sendMessage = ch.sendMessage;
    let fast = 0;
    ch.publish = () => {
      throw new Error("ConfirmChannel.publish called: the fast path was not taken");
    };
    ch.sendMessage = function (this: unknown, ...args: unknown[]) {
      fast++;
      return sendMessage.apply(this, args);
    };
    try {
      const { confirmed } = publisher.publish("", viaFastPath.name, body, options, () => "test");
      await confirmed;
    } finally {
      ch.publish = publish;
      ch.sendMessage = sendMessage;
    }
    expect(fast).toBe(1);

    const a = await viaPublish.get();
    const b = await viaFastPath.get();
    expect(b.content.toString()).toBe(a.content.toString());
    expect(b.properties).toEqual(a.properties);
    expect(b.properties.headers).toEqual(options.headers);
    expect(b.properties.deliveryMode).toBe(2);
    expect({ exchange: b.fields.exchange, routingKey: b.fields.routingKey }).toEqual({
      exchange: "",
      routingKey: viaFastPath.name,
    });
  });

  it("a message without headers goes out with no header table", async () => {
    const q = await queue();
    const publisher = new Publisher(channel);
    await publisher.publish(
      "",
      q.name,
      Buffer.from("x"),
      { messageId: "m-2", persistent: false },
      () => "test",
    ).confirmed;
    const m = await q.get();
    expect(m.properties.messageId).toBe("m-2");
    expect(m.properties.deliveryMode).toBe(1);
    expect(m.properties.headers ?? {}).toEqual({});
  });

  it("a message amqplib's encoder refuses takes its confirm callback back: later confirms stay aligned", async () => {
    const q = await queue();
    const publisher = new Publisher(channel);
    const bad = publisher.publish(
      "",
      q.name,
      Buffer.from("x"),
      { messageId: "bad", priority: 300 },
      () => "test",
    );
    await expect(bad.confirmed).rejects.toMatchObject({ code: "OMNIBUS_PUBLISH" });
    expect((channel as unknown as { unconfirmed: unknown[] }).unconfirmed).toEqual([]);
    const settled: string[] = [];
    const good = publisher.publish("", q.name, Buffer.from("g"), { messageId: "good" }, () => "test");
    const later = publisher.publish("", q.name, Buffer.from("l"), { messageId: "later" }, () => "test");
    void good.confirmed.then(() => settled.push("good"));
    void later.confirmed.then(() => settled.push("later"));
    await Promise.all([good.confirmed, later.confirmed]);
    expect(settled).toEqual(["good", "later"]);
    expect((await q.get()).properties.messageId).toBe("good");
    expect((await q.get()).properties.messageId).toBe("later");
  });
  it("dropSocket (amqplib's connection.stream): amqplib sees the socket fail and closes the connection at once", async () => {
    const c = await amqp.connect(url);
    const errors: string[] = [];
    c.on("error", (error: Error) => errors.push(error.message));
    const closed = new Promise<string>((resolve) => c.once("close", () => resolve("closed")));
    dropSocket(c);
    // A plain destroy() emits neither 'error' nor 'end': amqplib noticed only at its heartbeat timeout.
    const waited = new Promise<string>((resolve) => setTimeout(() => resolve("still open"), 5_000).unref());
    expect(await Promise.race([closed, waited])).toBe("closed");
    expect(errors).toEqual([expect.stringMatching(/connection dropped/)]);
  });
});
