import { connect, type Socket } from "node:net";
import { type BrokerName, hostPort } from "./config.js";

/** Talks to one socket until `done` returns a verdict or the deadline passes. */
function converse(
  host: string,
  port: number,
  timeoutMs: number,
  onConnect: (socket: Socket) => void,
  done: (received: Buffer, socket: Socket) => true | string | undefined,
): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    const finish = (error?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolvePromise();
    };
    const timer = setTimeout(
      () => finish(new Error(`no answer from ${host}:${port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once("connect", () => onConnect(socket));
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      const verdict = done(received, socket);
      if (verdict === true) finish();
      else if (typeof verdict === "string") finish(new Error(verdict));
    });
    socket.once("error", (error) => finish(error));
    socket.once("close", () => finish(new Error(`${host}:${port} closed the connection`)));
  });
}

/**
 * AMQP 0-9-1: the protocol header, then a PLAIN login with the URL's user and password (guest's
 * when it has none): resolves at `connection.tune`, so a server that refuses the login is told
 * apart from one that answers (the client asks for `authentication_failure_close`, and the reason
 * comes back in `connection.close`).
 */
function probeAmqp(url: string, timeoutMs: number): Promise<void> {
  const { host, port } = hostPort("rabbitmq", url);
  const parsed = new URL(url);
  const user = decodeURIComponent(parsed.username) || "guest";
  const password = parsed.username ? decodeURIComponent(parsed.password) : "guest";
  let loggingIn = false;
  return converse(
    host,
    port,
    timeoutMs,
    (s) => s.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])),
    (b, socket) => {
      if (b.length >= 4 && b.subarray(0, 4).toString("latin1") === "AMQP")
        return "the server wants another AMQP version";
      const frame = lastMethodFrame(b);
      if (frame === undefined) return b.length > 0 && b[0] !== 1 ? "not an AMQP 0-9-1 server" : undefined;
      const method = `${frame.readUInt16BE(0)}.${frame.readUInt16BE(2)}`;
      if (method === "10.10" && !loggingIn) {
        loggingIn = true;
        socket.write(startOk(user, password));
        return undefined;
      }
      if (method === "10.30") return true; // tune: logged in
      if (method === "10.50") {
        const text = frame.subarray(7, 7 + frame[6]!).toString("utf8");
        return `login refused: ${text.replaceAll(password, "***")}`;
      }
      return loggingIn ? undefined : "not an AMQP 0-9-1 server";
    },
  );
}

/** The payload of the last whole method frame on channel 0 in `b`, or undefined. */
function lastMethodFrame(b: Buffer): Buffer | undefined {
  let last: Buffer | undefined;
  for (let at = 0; at + 7 <= b.length; ) {
    const size = b.readUInt32BE(at + 3);
    if (at + 8 + size > b.length) break;
    if (b[at] === 1) last = b.subarray(at + 7, at + 7 + size);
    at += 8 + size;
  }
  return last;
}

/** connection.start-ok: PLAIN, client capability `authentication_failure_close`. */
function startOk(user: string, password: string): Buffer {
  const shortstr = (v: string) => Buffer.concat([Buffer.from([Buffer.byteLength(v)]), Buffer.from(v)]);
  const longstr = (v: Buffer) => Buffer.concat([u32(v.length), v]);
  const capabilities = Buffer.concat([
    shortstr("authentication_failure_close"),
    Buffer.from("t"),
    Buffer.from([1]),
  ]);
  const properties = Buffer.concat([
    shortstr("capabilities"),
    Buffer.from("F"),
    u32(capabilities.length),
    capabilities,
  ]);
  const payload = Buffer.concat([
    Buffer.from([0, 10, 0, 11]),
    u32(properties.length),
    properties,
    shortstr("PLAIN"),
    longstr(Buffer.from(`\0${user}\0${password}`)),
    shortstr("en_US"),
  ]);
  return Buffer.concat([Buffer.from([1, 0, 0]), u32(payload.length), payload, Buffer.from([0xce])]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
}

/** Redis: AUTH when the URL has credentials, then PING, expect PONG. */
function probeRedis(url: string, timeoutMs: number): Promise<void> {
  const { host, port } = hostPort("redis", url);
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  const user = decodeURIComponent(parsed.username);
  const auth = password ? (user ? resp("AUTH", user, password) : resp("AUTH", password)) : "";
  return converse(
    host,
    port,
    timeoutMs,
    (s) => s.write(auth + resp("PING")),
    (b) => {
      const text = b.toString("latin1");
      const error = /^-([^\r]*)\r\n/m.exec(text);
      if (error) return `redis answered an error: ${error[1].slice(0, 120)}`;
      return text.includes("+PONG\r\n") ? true : undefined;
    },
  );
}

/** NATS: read INFO, require JetStream, send CONNECT + PING, expect PONG. */
function probeNats(url: string, timeoutMs: number): Promise<void> {
  const { host, port } = hostPort("nats", url);
  const parsed = new URL(url);
  let sent = false;
  return converse(
    host,
    port,
    timeoutMs,
    () => {},
    (b, socket) => {
      const text = b.toString("utf8");
      if (!sent) {
        const line = /^INFO (\{.*\})\s*\r\n/.exec(text);
        if (!line) return text.length > 4 && !text.startsWith("INFO") ? "not a NATS server" : undefined;
        const info = JSON.parse(line[1]) as { jetstream?: boolean; tls_required?: boolean };
        if (info.jetstream !== true)
          return "NATS answers but JetStream is not enabled (start nats-server with -js)";
        const connectOptions: Record<string, unknown> = {
          verbose: false,
          pedantic: false,
          lang: "omnibus-probe",
          version: "0",
        };
        if (parsed.username && parsed.password) {
          connectOptions.user = decodeURIComponent(parsed.username);
          connectOptions.pass = decodeURIComponent(parsed.password);
        } else if (parsed.username) connectOptions.auth_token = decodeURIComponent(parsed.username);
        socket.write(`CONNECT ${JSON.stringify(connectOptions)}\r\nPING\r\n`);
        sent = true;
        return undefined;
      }
      if (/\r\n-ERR /.test(text))
        return `NATS refused the connection: ${/-ERR ([^\r]*)/.exec(text)?.[1] ?? ""}`;
      return /\r\nPONG\r\n/.test(text) ? true : undefined;
    },
  );
}

/** One PostgreSQL backend message: its type byte and body, or undefined while incomplete. */
function pgMessage(b: Buffer, at: number): { type: string; body: Buffer; next: number } | undefined {
  if (b.length < at + 5) return undefined;
  const length = b.readInt32BE(at + 1);
  if (b.length < at + 1 + length) return undefined;
  return {
    type: String.fromCharCode(b[at]!),
    body: b.subarray(at + 5, at + 1 + length),
    next: at + 1 + length,
  };
}

/**
 * PostgreSQL: a v3 StartupMessage for the URL's user and database; ReadyForQuery (or a request
 * for a password: the server is up, authentication is the client's business) answers, an
 * ErrorResponse ("the database system is starting up", an unknown database) is the reason.
 */
function probePostgres(url: string, timeoutMs: number): Promise<void> {
  const { host, port } = hostPort("postgres", url);
  const parsed = new URL(url);
  const user = decodeURIComponent(parsed.username) || "postgres";
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, "")) || user;
  const params = Buffer.from(`user\0${user}\0database\0${database}\0\0`, "utf8");
  const startup = Buffer.alloc(8 + params.length);
  startup.writeInt32BE(startup.length, 0);
  startup.writeInt32BE(196_608, 4); // protocol 3.0
  params.copy(startup, 8);
  return converse(
    host,
    port,
    timeoutMs,
    (s) => s.write(startup),
    (b) => {
      for (let at = 0, m = pgMessage(b, 0); m !== undefined; at = m.next, m = pgMessage(b, at)) {
        if (m.type === "E") {
          const fields = new Map<string, string>();
          for (const field of m.body.toString("utf8").split("\0"))
            if (field.length > 1) fields.set(field[0]!, field.slice(1));
          return `postgres answered ${fields.get("C") ?? "an error"}: ${(fields.get("M") ?? "").slice(0, 160)}`;
        }
        if (m.type === "R" && m.body.length >= 4 && m.body.readInt32BE(0) !== 0) return true;
        if (m.type === "Z") return true;
      }
      if (b.length > 0 && !"RESNKZ".includes(String.fromCharCode(b[0]!))) return "not a PostgreSQL server";
      return undefined;
    },
  );
}

/**
 * Kafka: a metadata request through kafkajs admin. `host:port[,…]`, or `kafka://user:pass@host:port`
 * to log in with SASL PLAIN.
 */
async function probeKafka(brokers: string, timeoutMs: number): Promise<void> {
  const { Kafka, logLevel } = await import("kafkajs");
  const login = /^kafka:\/\/([^:@/]+):([^@/]*)@(.+)$/.exec(brokers);
  const list = login ? login[3]! : brokers;
  const kafka = new Kafka({
    clientId: "omnibus-brokers-probe",
    brokers: list.split(",").map((b) => b.trim()),
    ...(login
      ? {
          sasl: {
            mechanism: "plain" as const,
            username: decodeURIComponent(login[1]!),
            password: decodeURIComponent(login[2]!),
          },
        }
      : {}),
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 3000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0) throw new Error("Kafka answered metadata with no brokers");
    // A metadata request for topics proves the controller has finished starting.
    await admin.fetchTopicMetadata({ topics: [] });
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** fetch, with the socket error (ECONNREFUSED…) in the message instead of "fetch failed". */
async function post(url: URL, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`${url.host}: ${cause?.code ?? cause?.message ?? (error as Error).message}`, {
      cause: error,
    });
  }
}

/** SQS (AWS JSON protocol): ListQueues. */
async function probeSqs(endpoint: string, timeoutMs: number): Promise<void> {
  const response = await post(new URL("/", endpoint), {
    method: "POST",
    headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.ListQueues" },
    body: "{}",
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`ListQueues answered HTTP ${response.status}: ${text.slice(0, 200)}`);
  JSON.parse(text);
}

/** SNS (query protocol): ListTopics. */
async function probeSns(endpoint: string, timeoutMs: number): Promise<void> {
  const response = await post(new URL("/", endpoint), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "Action=ListTopics&Version=2010-03-31",
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  if (!response.ok || !text.includes("ListTopicsResponse")) {
    throw new Error(`ListTopics answered HTTP ${response.status}: ${text.slice(0, 200)}`);
  }
}

/**
 * Pub/Sub emulator (`host:port`): its REST gateway's ListTopics for a probe project. An HTTP/1.1
 * call on the port the gRPC clients use (the emulator routes HTTP/1.1 and HTTP/2 on one port).
 */
async function probePubsub(address: string, timeoutMs: number): Promise<void> {
  const { host, port } = hostPort("pubsub", address);
  const response = await post(new URL(`http://${host}:${port}/v1/projects/omnibus-probe/topics`), {
    method: "GET",
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`ListTopics answered HTTP ${response.status}: ${text.slice(0, 200)}`);
  JSON.parse(text);
}

/**
 * AMQP 1.0 (Artemis): SASL PLAIN with the URL's credentials (ANONYMOUS without), then an open
 * performative answered by the broker's open, through rhea.
 */
async function probeAmqp10(url: string, timeoutMs: number): Promise<void> {
  const { host, port } = hostPort("activemq", url);
  const parsed = new URL(url);
  const rhea = (await import("rhea")).default;
  const container = rhea.create_container({ id: "omnibus-brokers-probe" });
  await new Promise<void>((resolvePromise, reject) => {
    const connection = container.connect({
      host,
      port,
      reconnect: false,
      idle_time_out: 0,
      ...(parsed.username
        ? {
            username: decodeURIComponent(parsed.username),
            password: decodeURIComponent(parsed.password),
          }
        : {}),
    });
    const timer = setTimeout(() => {
      finish(new Error(`no AMQP 1.0 open from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      connection.removeAllListeners();
      connection.on("error", () => {});
      connection.on("disconnected", () => {});
      if (error) {
        connection.close();
        reject(error);
      } else {
        connection.close();
        resolvePromise();
      }
    };
    connection.once("connection_open", () => finish());
    connection.once("connection_error", (context) =>
      finish(new Error(`AMQP 1.0 open refused: ${context.connection.error?.description ?? "?"}`)),
    );
    connection.once("disconnected", (context) =>
      finish(
        new Error(`AMQP 1.0 connection to ${host}:${port} failed: ${context.error?.message ?? "closed"}`),
      ),
    );
    connection.on("error", (error: Error) => finish(new Error(`AMQP 1.0: ${error.message}`)));
  });
}

/** One attempt to speak `name`'s protocol to `url`; rejects with the reason when it does not answer. */
export function probe(name: BrokerName, url: string, timeoutMs = 3000): Promise<void> {
  switch (name) {
    case "rabbitmq":
      return probeAmqp(url, timeoutMs);
    case "redis":
      return probeRedis(url, timeoutMs);
    case "nats":
      return probeNats(url, timeoutMs);
    case "kafka":
      return probeKafka(url, timeoutMs);
    case "sqs":
      return probeSqs(url, timeoutMs);
    case "sns":
      return probeSns(url, timeoutMs);
    case "pubsub":
      return probePubsub(url, timeoutMs);
    case "activemq":
      return probeAmqp10(url, timeoutMs);
    case "postgres":
      return probePostgres(url, timeoutMs);
  }
}

/** Whether one probe succeeds. */
export async function answers(name: BrokerName, url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    await probe(name, url, timeoutMs);
    return true;
  } catch {
    return false;
  }
}

/**
 * Probes until the broker answers or `timeoutMs` passes (then rejects with the last reason).
 * `abort` is checked between attempts: a server process that exited makes waiting pointless.
 */
export async function waitReady(
  name: BrokerName,
  url: string,
  timeoutMs: number,
  abort?: () => string | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  let last = "no attempt";
  for (;;) {
    const reason = abort?.();
    if (reason) throw new Error(reason);
    try {
      await probe(name, url, Math.max(500, Math.min(5000, deadline - Date.now())));
      return;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() + delay > deadline) throw new Error(`not ready after ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 500);
  }
}
