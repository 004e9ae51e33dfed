import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The brokers this tool provisions. `sqs` is ElasticMQ; `sns` is fauxqs (SNS + SQS emulator);
 * `pubsub` is Google's Pub/Sub emulator (Debian package `google-cloud-cli-pubsub-emulator`);
 * `activemq` is Apache ActiveMQ Artemis (AMQP 1.0); `postgres` is PostgreSQL (the
 * `@omnibus/postgres` adapter's broker).
 */
export type BrokerName =
  | "rabbitmq"
  | "kafka"
  | "sqs"
  | "sns"
  | "nats"
  | "redis"
  | "pubsub"
  | "activemq"
  | "postgres";

/** Every broker, in the order `up` and `status` list them. */
export const BROKER_NAMES: readonly BrokerName[] = [
  "rabbitmq",
  "kafka",
  "sqs",
  "sns",
  "nats",
  "redis",
  "pubsub",
  "activemq",
  "postgres",
];

/** Where a broker came from. */
export type BrokerSource = "env" | "running" | "local" | "container";

interface BrokerSpec {
  readonly envVar: string;
  readonly defaultUrl: string;
  readonly defaultPort: number;
  /**
   * A broker this tool cannot install: where it is absent, `up` reports it as such (with the package
   * that is missing) instead of failing, and its tests skip with that reason.
   */
  readonly optional?: boolean;
}

/**
 * The password the repository's tests put in the credentials they connect with, wherever a broker
 * takes one, so that a scan for it (the conformance case `client/secrets-live`) finds any leak.
 */
export const TEST_PASSWORD = "OmnibusSentinel9f3b27";

/**
 * The user the broker tool gives the RabbitMQ and Artemis it starts (and adds to a RabbitMQ it
 * finds on loopback, with `rabbitmqctl`), whose password is {@link TEST_PASSWORD}: the tests'
 * default credentials on those brokers, so that every password they connect with is the one the
 * leak scan searches for.
 */
export const TEST_USER = "omnibus-test";

const TEST_LOGIN = `${TEST_USER}:${TEST_PASSWORD}`;

/** The environment contract: variable names, defaults and standard loopback ports. */
export const BROKER_SPECS: Readonly<Record<BrokerName, BrokerSpec>> = {
  rabbitmq: {
    envVar: "OMNIBUS_RABBITMQ_URL",
    defaultUrl: `amqp://${TEST_LOGIN}@127.0.0.1:5672`,
    defaultPort: 5672,
  },
  kafka: { envVar: "OMNIBUS_KAFKA_BROKERS", defaultUrl: "127.0.0.1:9092", defaultPort: 9092 },
  sqs: { envVar: "OMNIBUS_SQS_ENDPOINT", defaultUrl: "http://127.0.0.1:9324", defaultPort: 9324 },
  sns: { envVar: "OMNIBUS_SNS_ENDPOINT", defaultUrl: "http://127.0.0.1:4575", defaultPort: 4575 },
  nats: { envVar: "OMNIBUS_NATS_URL", defaultUrl: "nats://127.0.0.1:4222", defaultPort: 4222 },
  redis: { envVar: "OMNIBUS_REDIS_URL", defaultUrl: "redis://127.0.0.1:6379", defaultPort: 6379 },
  // `host:port`, the form of Google's PUBSUB_EMULATOR_HOST. 8085 is the emulator's own default.
  pubsub: {
    envVar: "OMNIBUS_PUBSUB_EMULATOR_HOST",
    defaultUrl: "127.0.0.1:8085",
    defaultPort: 8085,
    optional: true,
  },
  // Artemis's own multi-protocol port (its "artemis" acceptor), here AMQP 1.0 + CORE only: its AMQP
  // default 5672 is RabbitMQ's, and its MQTT 1883 Mosquitto's, on this machine.
  activemq: {
    envVar: "OMNIBUS_ACTIVEMQ_URL",
    defaultUrl: `amqp://${TEST_LOGIN}@127.0.0.1:61616`,
    defaultPort: 61616,
  },
  postgres: {
    envVar: "OMNIBUS_POSTGRES_URL",
    defaultUrl: "postgres://postgres@127.0.0.1:5432/test",
    defaultPort: 5432,
  },
};

export function isBrokerName(value: string): value is BrokerName {
  return (BROKER_NAMES as readonly string[]).includes(value);
}

/**
 * The URL tests should use for a broker: its `OMNIBUS_*` variable when set, else the default.
 * Returned unmasked (it is meant for clients); use {@link maskUrl} before printing it.
 * @example
 * const url = brokerUrl("redis"); // "redis://127.0.0.1:6379" unless OMNIBUS_REDIS_URL is set
 */
export function brokerUrl(name: BrokerName): string {
  const spec = BROKER_SPECS[name];
  const value = process.env[spec.envVar];
  return value !== undefined && value !== "" ? value : spec.defaultUrl;
}

/** The URL for a local server of `name` on loopback `port`, in the form its clients expect. */
export function localUrl(name: BrokerName, port: number): string {
  switch (name) {
    case "rabbitmq":
      return `amqp://${TEST_LOGIN}@127.0.0.1:${port}`;
    case "kafka":
    case "pubsub":
      return `127.0.0.1:${port}`;
    case "sqs":
    case "sns":
      return `http://127.0.0.1:${port}`;
    case "nats":
      return `nats://127.0.0.1:${port}`;
    case "redis":
      return `redis://127.0.0.1:${port}`;
    case "activemq":
      return `amqp://${TEST_LOGIN}@127.0.0.1:${port}`;
    case "postgres":
      return `postgres://postgres@127.0.0.1:${port}/test`;
  }
}

/**
 * A broker URL with credentials for the leak scan, and the password to scan for: `url` with
 * `user` and {@link TEST_PASSWORD} when it has no password yet (for servers that take any
 * password from a client: Redis's default user without one, NATS without auth, PostgreSQL with
 * trust auth); a URL given with a password of its own keeps it, and that one is scanned for
 * (`password` is undefined when it is too short to search for).
 * @example
 * const { url, password } = withTestPassword(brokerUrl("redis"), "default");
 */
export function withTestPassword(url: string, user: string): { url: string; password: string | undefined } {
  const parsed = new URL(url);
  if (parsed.password !== "") {
    const own = decodeURIComponent(parsed.password);
    return { url, password: own.length >= 8 ? own : undefined };
  }
  parsed.username = encodeURIComponent(decodeURIComponent(parsed.username) || user);
  parsed.password = encodeURIComponent(TEST_PASSWORD);
  return { url: parsed.toString(), password: TEST_PASSWORD };
}

/** Replaces any password in a URL (or in each entry of a comma-separated list) with `***`. */
export function maskUrl(url: string): string {
  return url
    .split(",")
    .map((part) => {
      // user:password@ in anything that looks like scheme://user:password@host
      return part.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, "$1:***@");
    })
    .join(",");
}

/** host and port of the first entry of a broker URL or `host:port` list. */
export function hostPort(name: BrokerName, url: string): { host: string; port: number } {
  const first = url.split(",")[0].trim();
  if ((name === "kafka" || name === "pubsub") && !first.includes("://")) {
    const i = first.lastIndexOf(":");
    return { host: first.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(first.slice(i + 1)) };
  }
  const parsed = new URL(first.includes("://") ? first : `tcp://${first}`);
  const fallback: Record<string, number> = {
    "amqp:": 5672,
    "amqps:": 5671,
    "nats:": 4222,
    "redis:": 6379,
    "rediss:": 6379,
    "postgres:": 5432,
    "postgresql:": 5432,
    "http:": 80,
    "https:": 443,
  };
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ""),
    port: parsed.port ? Number(parsed.port) : (fallback[parsed.protocol] ?? BROKER_SPECS[name].defaultPort),
  };
}

let cachedPackageRoot: string | undefined;

/** The @omnibus/brokers package folder (holds maven/kafka/pom.xml and maven/elasticmq/pom.xml). */
export function packageRoot(): string {
  if (cachedPackageRoot) return cachedPackageRoot;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).name === "@omnibus/brokers") break;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("brokers: cannot find the @omnibus/brokers package folder");
    dir = parent;
  }
  cachedPackageRoot = dir;
  return dir;
}

/**
 * The git-ignored state folder: `OMNIBUS_STATE_DIR`, else `.omnibus/` at the workspace root
 * (the folder holding pnpm-workspace.yaml above this package), else `.omnibus/` in the cwd.
 */
export function stateRoot(): string {
  const override = process.env.OMNIBUS_STATE_DIR;
  if (override) return resolve(override);
  let dir = packageRoot();
  for (;;) {
    if (existsSync(join(dir, "pnpm-workspace.yaml"))) return join(dir, ".omnibus");
    const parent = dirname(dir);
    if (parent === dir) return resolve(".omnibus");
    dir = parent;
  }
}
