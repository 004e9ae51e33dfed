import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type BrokerName, packageRoot, stateRoot } from "./config.js";
import { ensureCommand, mavenClasspath, run } from "./process.js";

/** How to run one local server: resolved once per start, idempotent (it may write config files). */
export interface LaunchPlan {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly logFile: string;
  /** How long the first protocol answer may take. */
  readonly readyTimeoutMs: number;
}

export interface ServerOptions {
  /** The client port on 127.0.0.1. */
  readonly port: number;
  /** A second port: RabbitMQ's Erlang distribution port, Kafka's controller port. */
  readonly auxPort: number;
  readonly dataDir: string;
  /** Redis: `appendonly yes` + `appendfsync always`. */
  readonly persistence?: boolean;
  /** Kafka: the port the broker tells clients to use (a proxy in front of it). @default port */
  readonly advertisedPort?: number;
}

/** Which brokers need a second port (see {@link ServerOptions.auxPort}). */
export const needsAuxPort: Readonly<Record<BrokerName, boolean>> = {
  rabbitmq: true,
  kafka: true,
  sqs: false,
  sns: false,
  nats: false,
  redis: false,
  postgres: false,
};

/**
 * The signal that stops `name` gracefully. PostgreSQL's SIGTERM is a "smart" shutdown that waits
 * for every client to disconnect (a pooled client never does: a restart took the 30 s grace and
 * then a SIGKILL); SIGINT is its "fast" shutdown: sessions ended, a checkpoint, a clean stop.
 */
export function gracefulSignal(name: BrokerName): NodeJS.Signals {
  return name === "postgres" ? "SIGINT" : "SIGTERM";
}

function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_OPTIONS; // tsx/vitest loaders are not for our servers
  return env;
}

async function rabbitmq(o: ServerOptions): Promise<LaunchPlan> {
  // The Debian /usr/sbin wrapper would `su rabbitmq` and drop our environment: run the real script.
  const command = await ensureCommand("rabbitmq-server", "rabbitmq-server", [
    "/usr/lib/rabbitmq/bin/rabbitmq-server",
  ]);
  mkdirSync(join(o.dataDir, "log"), { recursive: true });
  writeFileSync(join(o.dataDir, "enabled_plugins"), "[].\n");
  writeFileSync(
    join(o.dataDir, "rabbitmq.conf"),
    `listeners.tcp.default = 127.0.0.1:${o.port}\nloopback_users.guest = true\n`,
  );
  return {
    command,
    args: [],
    cwd: o.dataDir,
    logFile: join(o.dataDir, "log", "stdout.log"),
    readyTimeoutMs: 90_000,
    env: childEnv({
      HOME: o.dataDir, // its own Erlang cookie
      RABBITMQ_NODENAME: nodeName(o.port),
      RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
      RABBITMQ_NODE_PORT: String(o.port),
      RABBITMQ_DIST_PORT: String(o.auxPort),
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: "-kernel inet_dist_use_interface {127,0,0,1}",
      RABBITMQ_MNESIA_BASE: join(o.dataDir, "mnesia"),
      RABBITMQ_LOG_BASE: join(o.dataDir, "log"),
      RABBITMQ_CONFIG_FILE: join(o.dataDir, "rabbitmq.conf"),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(o.dataDir, "advanced.config"),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(o.dataDir, "enabled_plugins"),
      RABBITMQ_PID_FILE: join(o.dataDir, "rabbitmq.pid"),
      RUNNING_UNDER_SYSTEMD: "true", // exec the VM: our pid is the broker, SIGTERM stops it cleanly
    }),
  };
}

/** The Erlang node name of a local RabbitMQ on `port` (for `rabbitmqctl -n`). */
export function nodeName(port: number): string {
  return `omnibus-${port}@localhost`;
}

async function redis(o: ServerOptions): Promise<LaunchPlan> {
  const command = await ensureCommand("redis-server", "redis-server");
  const persistence = o.persistence
    ? ["--appendonly", "yes", "--appendfsync", "always"]
    : ["--appendonly", "no"];
  return {
    command,
    args: [
      "--port",
      String(o.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      o.dataDir,
      "--save",
      "",
      ...persistence,
      "--daemonize",
      "no",
      // The log goes to stdout (the log file), so that a failed start shows its reason.
    ],
    cwd: o.dataDir,
    logFile: join(o.dataDir, "stdout.log"),
    readyTimeoutMs: 15_000,
    env: childEnv(),
  };
}

async function nats(o: ServerOptions): Promise<LaunchPlan> {
  const command = await ensureCommand("nats-server", "nats-server");
  return {
    command,
    args: [
      "-a",
      "127.0.0.1",
      "-p",
      String(o.port),
      "-js",
      "-sd",
      join(o.dataDir, "jetstream"),
      // The log goes to stdout (the log file), so that a failed start shows its reason.
    ],
    cwd: o.dataDir,
    logFile: join(o.dataDir, "stdout.log"),
    readyTimeoutMs: 15_000,
    env: childEnv(),
  };
}

function java(): Promise<string> {
  return ensureCommand("java", "openjdk-17-jre-headless");
}

async function kafka(o: ServerOptions): Promise<LaunchPlan> {
  const command = await java();
  const classpath = await mavenClasspath(
    join(packageRoot(), "maven", "kafka", "pom.xml"),
    join(stateRoot(), "cache", "kafka-classpath.json"),
  );
  const logs = join(o.dataDir, "logs");
  mkdirSync(logs, { recursive: true });
  const properties = join(o.dataDir, "server.properties");
  writeFileSync(
    properties,
    [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.voters=1@127.0.0.1:${o.auxPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.auxPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${o.advertisedPort ?? o.port}`,
      "controller.listener.names=CONTROLLER",
      "inter.broker.listener.name=PLAINTEXT",
      "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
      `log.dirs=${join(o.dataDir, "data")}`,
      "num.partitions=1",
      "offsets.topic.replication.factor=1",
      "offsets.topic.num.partitions=10",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "share.coordinator.state.topic.replication.factor=1",
      "share.coordinator.state.topic.min.isr=1",
      "group.initial.rebalance.delay.ms=0",
      "auto.create.topics.enable=true",
      "",
    ].join("\n"),
  );
  const log4j = join(o.dataDir, "log4j2.properties");
  writeFileSync(
    log4j,
    [
      "status = error",
      "appender.file.type = File",
      "appender.file.name = file",
      `appender.file.fileName = ${join(logs, "server.log")}`,
      "appender.file.layout.type = PatternLayout",
      "appender.file.layout.pattern = [%d] %p %m (%c)%n",
      "rootLogger.level = INFO",
      "rootLogger.appenderRef.file.ref = file",
      "",
    ].join("\n"),
  );
  const jvm = [
    "-Xms256m",
    "-Xmx1g",
    "-XX:+UseG1GC",
    "-Djava.awt.headless=true",
    `-Dlog4j2.configurationFile=${log4j}`,
    `-Dkafka.logs.dir=${logs}`,
    "-cp",
    classpath,
  ];
  if (!existsSync(join(o.dataDir, "data", "meta.properties"))) {
    // A base64url id can start with "-", which kafka-storage's argument parser takes for an option
    // (1 start in 64 failed that way): draw again until it does not.
    let clusterId = randomBytes(16).toString("base64url");
    while (clusterId.startsWith("-")) clusterId = randomBytes(16).toString("base64url");
    try {
      await run(
        command,
        [
          ...jvm,
          "kafka.tools.StorageTool",
          "format",
          "-t",
          clusterId,
          "-c",
          properties,
          "--ignore-formatted",
        ],
        { maxBuffer: 64 << 20 },
      );
    } catch (error) {
      throw new Error(
        `kafka-storage format failed: ${String((error as { stderr?: string }).stderr ?? error).slice(-800)}`,
      );
    }
  }
  return {
    command,
    args: [...jvm, "kafka.Kafka", properties],
    cwd: o.dataDir,
    logFile: join(logs, "stdout.log"),
    readyTimeoutMs: 120_000,
    env: childEnv(),
  };
}

async function elasticmq(o: ServerOptions): Promise<LaunchPlan> {
  const command = await java();
  const classpath = await mavenClasspath(
    join(packageRoot(), "maven", "elasticmq", "pom.xml"),
    join(stateRoot(), "cache", "elasticmq-classpath.json"),
  );
  const conf = join(o.dataDir, "elasticmq.conf");
  writeFileSync(
    conf,
    [
      'include classpath("application.conf")',
      `node-address { protocol = http, host = "127.0.0.1", port = ${o.port}, context-path = "" }`,
      `rest-sqs { enabled = true, bind-port = ${o.port}, bind-hostname = "127.0.0.1", sqs-limits = strict }`,
      "rest-stats { enabled = false }",
      "",
    ].join("\n"),
  );
  return {
    command,
    args: [
      "-Xmx384m",
      "-Djava.awt.headless=true",
      `-Dconfig.file=${conf}`,
      "-cp",
      classpath,
      "org.elasticmq.server.Main",
    ],
    cwd: o.dataDir,
    logFile: join(o.dataDir, "elasticmq.log"),
    readyTimeoutMs: 90_000,
    env: childEnv(),
  };
}

/** fauxqs on 127.0.0.1 only (its own CLI listens on 0.0.0.0), run by this Node. */
const FAUXQS_MAIN = `
const { buildApp } = await import("fauxqs");
const app = buildApp({ logger: false });
await app.listen({ port: Number(process.env.OMNIBUS_FAUXQS_PORT), host: "127.0.0.1" });
const stop = () => app.close().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
`;

async function fauxqs(o: ServerOptions): Promise<LaunchPlan> {
  return {
    command: process.execPath,
    args: ["--input-type=module", "-e", FAUXQS_MAIN],
    cwd: packageRoot(), // resolves "fauxqs" from this package's dependencies
    logFile: join(o.dataDir, "fauxqs.log"),
    readyTimeoutMs: 30_000,
    env: childEnv({ OMNIBUS_FAUXQS_PORT: String(o.port) }),
  };
}

/** Debian's PostgreSQL 15 binaries (`initdb`, `postgres` are not on the PATH there). */
const POSTGRES_BIN = "/usr/lib/postgresql/15/bin";

/**
 * How to run a PostgreSQL binary: as the `postgres` user when we are root (initdb and postgres
 * refuse to run as root), through `setpriv`, which execs (the pid we record is the server's own,
 * so SIGTERM and SIGKILL reach it), else as ourselves.
 */
async function asPostgresUser(): Promise<{ prefix: string[]; uid?: number; gid?: number }> {
  if (process.getuid?.() !== 0) return { prefix: [] };
  const [uid, gid] = await Promise.all([
    run("id", ["-u", "postgres"]).then((r) => Number(String(r.stdout).trim())),
    run("id", ["-g", "postgres"]).then((r) => Number(String(r.stdout).trim())),
  ]).catch((error: Error) => {
    throw new Error(
      `postgres: we are root and there is no postgres user to run the server as: ${error.message}`,
    );
  });
  const setpriv = await ensureCommand("setpriv", "util-linux");
  return { prefix: [setpriv, "--reuid=postgres", "--regid=postgres", "--init-groups", "--"], uid, gid };
}

/** Runs `command` with `input` on stdin; rejects with the end of its output when it fails. */
function runWithInput(command: string, args: readonly string[], input: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], env: childEnv() });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolvePromise() : reject(new Error(`${command} exited ${code}: ${output.slice(-800)}`)),
    );
    child.stdin.end(input);
  });
}

async function postgres(o: ServerOptions): Promise<LaunchPlan> {
  const server = await ensureCommand("postgres", "postgresql-15", [join(POSTGRES_BIN, "postgres")]);
  const bin = dirname(server);
  const user = await asPostgresUser();
  const own = (path: string) => {
    if (user.uid !== undefined) chownSync(path, user.uid, user.gid!);
  };
  own(o.dataDir);
  const pgdata = join(o.dataDir, "pgdata");
  if (!existsSync(join(pgdata, "PG_VERSION"))) {
    mkdirSync(pgdata, { recursive: true, mode: 0o700 });
    own(pgdata);
    const [command, ...args] = [
      ...user.prefix,
      join(bin, "initdb"),
      "-D",
      pgdata,
      "-U",
      "postgres",
      "--auth=trust",
      "-E",
      "UTF8",
      "--no-sync",
    ];
    try {
      await run(command!, args, { env: childEnv(), maxBuffer: 16 << 20 });
    } catch (error) {
      throw new Error(`initdb failed: ${String((error as { stderr?: string }).stderr ?? error).slice(-800)}`);
    }
    // The database the default URL names (postgres://postgres@…/test), made in single-user mode
    // before the server first listens, so that the readiness probe can connect to it.
    const [single, ...singleArgs] = [...user.prefix, server, "--single", "-D", pgdata, "postgres"];
    await runWithInput(single!, singleArgs, "CREATE DATABASE test;\n");
  }
  const [command, ...args] = [
    ...user.prefix,
    server,
    "-D",
    pgdata,
    "-p",
    String(o.port),
    "-c",
    "listen_addresses=127.0.0.1",
    "-c",
    `unix_socket_directories=${o.dataDir}`,
    "-c",
    "max_connections=200",
    // A process crash (kill -9) loses nothing committed without fsync; only an OS crash would.
    "-c",
    "fsync=off",
    "-c",
    "full_page_writes=off",
  ];
  return {
    command: command!,
    args,
    cwd: o.dataDir,
    // Its log goes to stdout (the log file), so that a failed start shows its reason.
    logFile: join(o.dataDir, "postgres.log"),
    readyTimeoutMs: 30_000,
    env: childEnv(),
  };
}

/** Writes the server's config under `dataDir` and says how to run it; throws when it cannot be had. */
export async function planServer(name: BrokerName, options: ServerOptions): Promise<LaunchPlan> {
  mkdirSync(options.dataDir, { recursive: true });
  switch (name) {
    case "rabbitmq":
      return rabbitmq(options);
    case "redis":
      return redis(options);
    case "nats":
      return nats(options);
    case "kafka":
      return kafka(options);
    case "sqs":
      return elasticmq(options);
    case "sns":
      return fauxqs(options);
    case "postgres":
      return postgres(options);
  }
}
