#!/usr/bin/env node
// What the tests left on the shared brokers: every queue, topic, group, stream or key that is not
// the broker's own, listed per broker (the shared brokers serve the tests only, so everything else
// was made by a test run — this one, an earlier one, or one running alongside).
//
//   node scripts/leftovers.mjs                    list everything, per broker
//   node scripts/leftovers.mjs --save before.json  ...and save the listing
//   node scripts/leftovers.mjs --since before.json only what is not in that earlier listing
//   node scripts/leftovers.mjs --runs runs.txt     only names of the conformance case runs listed
//                                                  there (OMNIBUS_CONFORMANCE_RUNS_FILE: each run's token)
//   [--show 10] names shown per kind   [--strict] exit 1 when anything is listed
//
// `pnpm test` (scripts/test.mjs) saves a listing before vitest and prints what is new after it.
// A broker that does not answer is reported as such (exit code unaffected unless --strict).
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";

// The AWS SDK warns about the Node version on load; that is not what this script reports on.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  if (String(warning?.name ?? rest[0]?.type ?? rest[0]).includes("NodeVersionSupport")) return;
  if (String(warning).includes("AWS SDK for JavaScript")) return;
  emitWarning(warning, ...rest);
};

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const show = Number(flag("--show") ?? 10);
const strict = args.includes("--strict");
const env = process.env;
// The broker tool's default logins (TEST_USER / TEST_PASSWORD of @omnibus/brokers).
const login = "omnibus-test:OmnibusSentinel9f3b27";
const url = {
  rabbitmq: env.OMNIBUS_RABBITMQ_URL ?? `amqp://${login}@127.0.0.1:5672`,
  kafka: env.OMNIBUS_KAFKA_BROKERS ?? "127.0.0.1:9092",
  sqs: env.OMNIBUS_SQS_ENDPOINT ?? "http://127.0.0.1:9324",
  sns: env.OMNIBUS_SNS_ENDPOINT ?? "http://127.0.0.1:4575",
  nats: env.OMNIBUS_NATS_URL ?? "nats://127.0.0.1:4222",
  redis: env.OMNIBUS_REDIS_URL ?? "redis://127.0.0.1:6379",
  pubsub: env.OMNIBUS_PUBSUB_EMULATOR_HOST ?? "127.0.0.1:8085",
  activemq: env.OMNIBUS_ACTIVEMQ_URL ?? `amqp://${login}@127.0.0.1:61616`,
  postgres: env.OMNIBUS_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test",
};

/** A client library, from the adapter package that depends on it. */
async function lib(adapter, name) {
  const resolved = createRequire(join(root, "adapters", adapter, "package.json")).resolve(name);
  return import(pathToFileURL(resolved).href);
}

const within = (promise, ms, what) =>
  Promise.race([
    promise,
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref(),
    ),
  ]);

async function rabbitmq() {
  // AMQP cannot list; rabbitmqctl can (on the broker's machine), the management API over HTTP too.
  const run = promisify(execFile);
  const list = async (what) => {
    const { stdout } = await run("rabbitmqctl", ["-q", `list_${what}`, "name"], { timeout: 60_000 });
    return stdout
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && l !== "name");
  };
  const [queues, exchanges] = await Promise.all([list("queues"), list("exchanges")]);
  // <namespace>..epoch..<id>: a RabbitMQ adapter's transient restart marker (deleted when it
  // closes, gone with a broker restart): a client that did not close leaves one.
  return {
    queues,
    exchanges: exchanges.filter((e) => !e.startsWith("amq.") && !/\.\.epoch\.\.[0-9a-f]{32}$/.test(e)),
  };
}

async function kafka() {
  const { Kafka, logLevel } = await lib("kafka", "kafkajs");
  const admin = new Kafka({
    brokers: url.kafka.split(","),
    clientId: "omnibus-leftovers",
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => !t.startsWith("__"));
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    return { topics, groups };
  } finally {
    await admin.disconnect();
  }
}

async function sqsQueues(endpoint) {
  const { SQSClient, ListQueuesCommand } = await lib("sqs", "@aws-sdk/client-sqs");
  const client = new SQSClient({
    endpoint,
    region: env.AWS_REGION ?? "us-east-1",
    credentials: { accessKeyId: "omnibus", secretAccessKey: "omnibus" },
  });
  const names = [];
  let NextToken;
  do {
    const page = await client.send(new ListQueuesCommand({ MaxResults: 1000, NextToken }));
    for (const u of page.QueueUrls ?? []) names.push(u.slice(u.lastIndexOf("/") + 1));
    NextToken = page.NextToken;
  } while (NextToken);
  client.destroy();
  return names;
}

async function sns() {
  const { SNSClient, ListTopicsCommand, ListSubscriptionsCommand } = await lib("sqs", "@aws-sdk/client-sns");
  const client = new SNSClient({
    endpoint: url.sns,
    region: env.AWS_REGION ?? "us-east-1",
    credentials: { accessKeyId: "omnibus", secretAccessKey: "omnibus" },
  });
  const topics = [];
  let NextToken;
  do {
    const page = await client.send(new ListTopicsCommand({ NextToken }));
    for (const t of page.Topics ?? []) topics.push(t.TopicArn.slice(t.TopicArn.lastIndexOf(":") + 1));
    NextToken = page.NextToken;
  } while (NextToken);
  const subscriptions = [];
  NextToken = undefined;
  do {
    const page = await client.send(new ListSubscriptionsCommand({ NextToken }));
    for (const s of page.Subscriptions ?? [])
      subscriptions.push(`${s.TopicArn.slice(s.TopicArn.lastIndexOf(":") + 1)} -> ${s.Endpoint ?? "?"}`);
    NextToken = page.NextToken;
  } while (NextToken);
  client.destroy();
  return { topics, subscriptions, queues: await sqsQueues(url.sns) };
}

async function nats() {
  const { connect } = await lib("nats", "@nats-io/transport-node");
  const { jetstreamManager } = await lib("nats", "@nats-io/jetstream");
  const nc = await connect({ servers: url.nats, name: "omnibus-leftovers" });
  try {
    const jsm = await jetstreamManager(nc);
    const streams = [];
    const consumers = [];
    for await (const s of jsm.streams.list()) {
      streams.push(s.config.name);
      for await (const c of jsm.consumers.list(s.config.name)) consumers.push(`${s.config.name}/${c.name}`);
    }
    return { streams, consumers };
  } finally {
    await nc.close();
  }
}

async function redis() {
  const { Redis } = await lib("redis", "ioredis");
  const client = new Redis(url.redis, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on("error", () => {});
  await client.connect();
  try {
    const keys = [];
    let cursor = "0";
    do {
      const [next, batch] = await client.scan(cursor, "COUNT", 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
    return { keys: keys.sort() };
  } finally {
    client.disconnect();
  }
}

/** The Pub/Sub emulator's topics and subscriptions of project `omnibus` (the tests' project), over REST. */
async function pubsub() {
  const list = async (kind) => {
    const names = [];
    let pageToken = "";
    do {
      const response = await fetch(
        `http://${url.pubsub}/v1/projects/omnibus/${kind}?pageSize=1000${pageToken ? `&pageToken=${pageToken}` : ""}`,
      );
      if (!response.ok) throw new Error(`pubsub: ${kind} answered HTTP ${response.status}`);
      const body = await response.json();
      for (const item of body[kind] ?? []) names.push(item.name.slice(item.name.lastIndexOf("/") + 1));
      pageToken = body.nextPageToken ?? "";
    } while (pageToken);
    // The dead-letter policy's topic and subscription are the adapter's own, made once per project.
    return names.filter((n) => n !== "omnibus.dead-letters").sort();
  };
  return { topics: await list("topics"), subscriptions: await list("subscriptions") };
}

/** Artemis's queues and addresses that are not the broker's own. */
async function activemq() {
  // Artemis's management operations over AMQP 1.0 (activemq.management), with a temporary reply queue.
  const rhea = (await lib("activemq", "rhea")).default;
  const parsed = new URL(url.activemq);
  const connection = rhea.create_container({ id: "omnibus-leftovers" }).connect({
    host: parsed.hostname,
    port: Number(parsed.port || 61616),
    username: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    reconnect: false,
  });
  try {
    const replies = connection.open_receiver({ source: { dynamic: true } });
    const address = await new Promise((resolve, reject) => {
      replies.once("receiver_open", (c) => resolve(c.receiver.source.address));
      connection.once("disconnected", (c) => reject(c.error ?? new Error("disconnected")));
    });
    const sender = connection.open_sender("activemq.management");
    const answers = new Map();
    replies.on("message", (c) =>
      answers.get(String(c.message.correlation_id ?? c.message.message_id))?.(c.message),
    );
    const call = (operation) =>
      new Promise((resolve) => {
        const id = `leftovers-${operation}`;
        answers.set(id, (m) => resolve(JSON.parse(m.body)[0]));
        const send = () =>
          sender.send({
            message_id: id,
            reply_to: address,
            application_properties: { _AMQ_ResourceName: "broker", _AMQ_OperationName: operation },
            body: "[]",
          });
        if (sender.sendable()) send();
        else sender.once("sendable", send);
      });
    const own = (n) => n === "DLQ" || n === "ExpiryQueue" || n === address || /^(\$sys|activemq)\./.test(n);
    const [queues, addresses] = await Promise.all([call("getQueueNames"), call("getAddressNames")]);
    return {
      queues: queues.filter((n) => !own(n)).sort(),
      addresses: addresses.filter((n) => !own(n) && !queues.includes(n)).sort(),
    };
  } finally {
    connection.close();
  }
}

/**
 * PostgreSQL: the schemas of the database that are not its own, and in each schema with the
 * adapter's tables the destinations holding messages (`q/<queue>`, `t/<topic>/<group>`), the topic
 * groups, and the outbox rows not yet sent.
 */
async function postgres() {
  const pg = (await lib("postgres", "pg")).default;
  const client = new pg.Client({ connectionString: url.postgres, connectionTimeoutMillis: 5_000 });
  client.on("error", () => {});
  await client.connect();
  try {
    const schemas = (
      await client.query(
        "SELECT nspname AS name FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', 'public') ORDER BY 1",
      )
    ).rows.map((r) => r.name);
    const destinations = [];
    const groups = [];
    const outbox = [];
    for (const schema of schemas) {
      const q = `"${schema.replace(/"/g, '""')}"`;
      const { rows } = await client.query(
        "SELECT to_regclass($1) AS messages, to_regclass($2) AS groups, to_regclass($3) AS outbox",
        [`${q}.messages`, `${q}.groups`, `${q}.outbox`],
      );
      if (rows[0].messages)
        for (const r of (await client.query(`SELECT DISTINCT dest FROM ${q}.messages`)).rows)
          destinations.push(`${schema}:${r.dest}`);
      if (rows[0].groups)
        for (const r of (await client.query(`SELECT topic, grp FROM ${q}.groups`)).rows)
          groups.push(`${schema}:${r.topic}/${r.grp}`);
      if (rows[0].outbox)
        for (const r of (
          await client.query(`SELECT DISTINCT kind, destination FROM ${q}.outbox WHERE sent_at IS NULL`)
        ).rows)
          outbox.push(`${schema}:${r.kind}:${r.destination}`);
    }
    return { schemas, destinations, groups, outbox };
  } finally {
    await client.end().catch(() => {});
  }
}

const brokers = {
  rabbitmq,
  kafka,
  "sqs (ElasticMQ)": async () => ({ queues: await sqsQueues(url.sqs) }),
  "sqs+sns (fauxqs)": sns,
  nats,
  redis,
  "pubsub (emulator)": pubsub,
  "activemq (Artemis)": activemq,
  postgres,
};

const found = {};
await Promise.all(
  Object.entries(brokers).map(async ([name, list]) => {
    try {
      found[name] = await within(list(), 90_000, name);
    } catch (error) {
      found[name] = { error: String(error?.message ?? error).split("\n")[0] };
    }
  }),
);

const saveTo = flag("--save");
if (saveTo) writeFileSync(saveTo, `${JSON.stringify(found, null, 2)}\n`);
const sinceFile = flag("--since");
const since = sinceFile ? JSON.parse(readFileSync(sinceFile, "utf8")) : undefined;

const runsFile = flag("--runs");
const tokens = runsFile
  ? new Set(
      readFileSync(runsFile, "utf8")
        .split("\n")
        .map((l) => l.trim().split(" ")[0])
        .filter(Boolean),
    )
  : undefined;
/** Whether `name` holds the token of a listed case run (8 hex digits after a `-`, `_` or `.`). */
const ofRuns = (name) => [...name.matchAll(/[0-9a-f]{8}/g)].some((m) => tokens.has(m[0]));

let total = 0;
const lines = [];
for (const name of Object.keys(brokers)) {
  const kinds = found[name];
  if (kinds.error) {
    lines.push(`${name}: not listed (${kinds.error})`);
    continue;
  }
  const parts = [];
  const details = [];
  for (const [kind, all] of Object.entries(kinds)) {
    const before = new Set(since?.[name]?.[kind] ?? []);
    const names = all.filter((n) => !before.has(n) && (tokens === undefined || ofRuns(n)));
    total += names.length;
    parts.push(`${names.length} ${kind}`);
    if (names.length > 0)
      details.push(
        `    ${kind}: ${names.slice(0, show).join(", ")}${names.length > show ? `, … (${names.length - show} more)` : ""}`,
      );
  }
  lines.push(`${name}: ${parts.join(", ")}`, ...details);
}
process.stdout.write(
  `${since ? `left on the shared brokers since ${sinceFile}` : "on the shared brokers"}${
    tokens ? `, by the ${tokens.size} conformance case runs of ${runsFile}` : ""
  } (not the brokers' own):\n${lines.join("\n")}\n`,
);
process.exit(strict && total > 0 ? 1 : 0);
