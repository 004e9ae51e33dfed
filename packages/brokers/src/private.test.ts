import { existsSync } from "node:fs";
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { hostPort, TEST_PASSWORD } from "./config.js";
import { type PrivateBroker, startPrivate } from "./index.js";

/** Sends raw protocol bytes and collects the answer until `complete` says it is whole. */
function exchange(
  url: string,
  name: "redis" | "nats",
  send: (write: (s: string) => void, received: () => string) => void,
  complete: (text: string) => boolean,
): Promise<string> {
  const { host, port } = hostPort(name, url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within 5 s; got ${JSON.stringify(text)}`));
    }, 5_000);
    socket.on("connect", () =>
      send(
        (s) => socket.write(s),
        () => text,
      ),
    );
    socket.on("data", (chunk) => {
      text += chunk.toString("utf8");
      send(
        (s) => socket.write(s),
        () => text,
      );
      if (complete(text)) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text);
      }
    });
    socket.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

function redis(url: string, ...args: string[]): Promise<string> {
  const command = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
  let sent = false;
  return exchange(
    url,
    "redis",
    (write) => {
      if (!sent) write(command);
      sent = true;
    },
    (t) => /^[+\-:].*\r\n$|^\$-1\r\n$|^\$\d+\r\n.*\r\n$/s.test(t),
  );
}

const REPLY = /MSG _INBOX\.t 1 +\d+\r\n(.*?)\r\n/s;

/** One NATS request (JetStream API calls are requests) over the raw protocol; resolves to the reply payload. */
function natsRequest(url: string, subject: string, payload: string): Promise<string> {
  let stage = 0;
  return exchange(
    url,
    "nats",
    (write, received) => {
      if (stage === 0 && received().includes("\r\n")) {
        write(
          `CONNECT {"verbose":false}\r\nSUB _INBOX.t 1\r\nPUB ${subject} _INBOX.t ${Buffer.byteLength(payload)}\r\n${payload}\r\n`,
        );
        stage = 1;
      }
    },
    (t) => REPLY.test(t),
  ).then((t) => REPLY.exec(t)?.[1] ?? "");
}

async function expectRedisDown(broker: PrivateBroker): Promise<void> {
  await expect(redis(broker.url, "PING")).rejects.toThrow();
}

describe("startPrivate", () => {
  it("redis: answers, keeps data across restart and kill with persistence, stops", async () => {
    const broker = await startPrivate("redis", { persistence: true });
    try {
      expect(broker.port).not.toBe(6379);
      expect(broker.url).toBe(`redis://127.0.0.1:${broker.port}`);
      expect(await redis(broker.url, "SET", "omnibus:k", "v1")).toBe("+OK\r\n");
      await broker.restart();
      expect(await redis(broker.url, "GET", "omnibus:k")).toBe("$2\r\nv1\r\n");
      await redis(broker.url, "SET", "omnibus:k", "v2");
      await broker.kill();
      await expectRedisDown(broker);
      await broker.start();
      expect(await redis(broker.url, "GET", "omnibus:k")).toBe("$2\r\nv2\r\n");
      await broker.stop();
      await expectRedisDown(broker);
    } finally {
      await broker[Symbol.asyncDispose]();
    }
    expect(existsSync(broker.dataDir)).toBe(false);
  }, 60_000);

  it("redis without persistence starts empty after a restart", async () => {
    await using broker = await startPrivate("redis");
    await redis(broker.url, "SET", "k", "v");
    await broker.restart();
    expect(await redis(broker.url, "GET", "k")).toBe("$-1\r\n");
  }, 60_000);

  it("nats: JetStream answers and a stream with its message survives a restart", async () => {
    await using broker = await startPrivate("nats");
    expect(broker.url).toBe(`nats://127.0.0.1:${broker.port}`);
    const created = JSON.parse(
      await natsRequest(
        broker.url,
        "$JS.API.STREAM.CREATE.T",
        JSON.stringify({ name: "T", subjects: ["t.>"], storage: "file" }),
      ),
    );
    expect(created.error).toBeUndefined();
    const ack = JSON.parse(await natsRequest(broker.url, "t.one", "hello"));
    expect(ack).toMatchObject({ stream: "T", seq: 1 });
    await broker.restart();
    const info = JSON.parse(await natsRequest(broker.url, "$JS.API.STREAM.INFO.T", ""));
    expect(info.state.messages).toBe(1);
  }, 60_000);

  it("rabbitmq: a private node answers AMQP and comes back after restart", async () => {
    await using broker = await startPrivate("rabbitmq");
    expect(broker.port).not.toBe(5672);
    expect(broker.url).toBe(`amqp://omnibus-test:${TEST_PASSWORD}@127.0.0.1:${broker.port}`);
    const { probe } = await import("./probe.js");
    // The readiness probe logs in: a wrong password is refused, and guest does not exist here.
    await expect(probe("rabbitmq", broker.url.replace(TEST_PASSWORD, "wrong"))).rejects.toThrow(
      /login refused/,
    );
    await expect(probe("rabbitmq", `amqp://guest:guest@127.0.0.1:${broker.port}`)).rejects.toThrow(
      /login refused/,
    );
    await broker.restart();
    await probe("rabbitmq", broker.url);
    await broker.kill();
    await expect(probe("rabbitmq", broker.url, 1000)).rejects.toThrow();
    await broker.start();
    await probe("rabbitmq", broker.url);
  }, 180_000);

  it("postgres: a private cluster (run as the postgres user) answers, restarts and comes back after a kill", async () => {
    const broker = await startPrivate("postgres");
    try {
      expect(broker.port).not.toBe(5432);
      expect(broker.url).toBe(`postgres://postgres@127.0.0.1:${broker.port}/test`);
      const { probe } = await import("./probe.js");
      await broker.restart();
      await probe("postgres", broker.url);
      await broker.kill();
      await expect(probe("postgres", broker.url, 1000)).rejects.toThrow();
      await broker.start();
      await probe("postgres", broker.url);
      // A database that is not there is a reason, not an answer.
      await expect(probe("postgres", broker.url.replace(/\/test$/, "/nope"), 2000)).rejects.toThrow(/3D000/);
    } finally {
      await broker[Symbol.asyncDispose]();
    }
    expect(existsSync(broker.dataDir)).toBe(false);
  }, 60_000);
});
