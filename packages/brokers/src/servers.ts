import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { type BrokerName, packageRoot, stateRoot, TEST_PASSWORD, TEST_USER } from "./config.js";
import { ensureCommand, mavenClasspath, run, which } from "./process.js";

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
  /**
   * Kafka: a second client listener, SASL_PLAINTEXT with PLAIN, whose one user is
   * {@link KAFKA_TEST_USER} with {@link TEST_PASSWORD} (the leak scan's credential).
   */
  readonly saslPort?: number;
  /** One node of a cluster (see cluster.ts); absent for a single server. */
  readonly cluster?: ClusterMember;
}

/** What a cluster node needs beyond a single server's options. */
export interface ClusterMember {
  /** 1-based node number: Kafka's `node.id`, NATS's server name `n<id>`. */
  readonly id: number;
  /** Kafka: `controller.quorum.voters`; NATS: the other nodes' route URLs; RabbitMQ: every node name. */
  readonly peers: string;
  /** Kafka: the cluster id every node's storage is formatted with; RabbitMQ: the Erlang cookie. */
  readonly clusterId: string;
  /** Kafka: default replication factor (min.insync.replicas is one less). */
  readonly replicas: number;
  /** NATS: the HTTP monitoring port (`/jsz` tells the stream leaders). */
  readonly monitorPort: number;
}

/** Which brokers need a second port (see {@link ServerOptions.auxPort}). */
export const needsAuxPort: Readonly<Record<BrokerName, boolean>> = {
  rabbitmq: true,
  kafka: true,
  sqs: false,
  sns: false,
  nats: false,
  redis: false,
  pubsub: false,
  activemq: false,
  postgres: false,
};

/**
 * A broker whose server is not installed here and that this tool cannot install (the Pub/Sub
 * emulator comes from Google's apt repository or `gcloud components`): `up` reports it absent
 * rather than failing, and its tests skip with {@link BrokerAbsentError.message}.
 */
export class BrokerAbsentError extends Error {
  override readonly name = "BrokerAbsentError";
}

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
  // The tests' user instead of guest, so that the password of every URL they use is the test one.
  const conf = [
    `listeners.tcp.default = 127.0.0.1:${o.port}`,
    "loopback_users.guest = true",
    `default_user = ${TEST_USER}`,
    `default_pass = ${TEST_PASSWORD}`,
  ];
  if (o.cluster) {
    // Peers listed in the config form the cluster at first boot (they share the Erlang cookie).
    conf.push(
      "cluster_formation.peer_discovery_backend = classic_config",
      ...o.cluster.peers
        .split(",")
        .map((node, i) => `cluster_formation.classic_config.nodes.${i + 1} = ${node}`),
      "cluster_formation.randomized_startup_delay_range.min = 0",
      "cluster_formation.randomized_startup_delay_range.max = 1",
    );
    const cookie = join(o.dataDir, ".erlang.cookie");
    if (!existsSync(cookie)) writeFileSync(cookie, o.cluster.clusterId, { mode: 0o400 });
  }
  writeFileSync(join(o.dataDir, "rabbitmq.conf"), `${conf.join("\n")}\n`);
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
      ...(o.cluster
        ? [
            "--server_name",
            `n${o.cluster.id}`,
            "--cluster_name",
            "omnibus",
            "--cluster",
            `nats://127.0.0.1:${o.auxPort}`,
            "--routes",
            o.cluster.peers,
            "-m",
            String(o.cluster.monitorPort),
          ]
        : []),
    ],
    cwd: o.dataDir,
    logFile: join(o.dataDir, "stdout.log"),
    readyTimeoutMs: 15_000,
    env: childEnv(),
  };
}

/**
 * A new Kafka cluster id. A base64url id can start with "-", which kafka-storage's argument
 * parser takes for an option (1 start in 64 failed that way): draw again until it does not.
 */
export function kafkaClusterId(): string {
  let clusterId = randomBytes(16).toString("base64url");
  while (clusterId.startsWith("-")) clusterId = randomBytes(16).toString("base64url");
  return clusterId;
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
  const replicas = o.cluster?.replicas ?? 1;
  const sasl = o.saslPort !== undefined;
  writeFileSync(
    properties,
    [
      "process.roles=broker,controller",
      `node.id=${o.cluster?.id ?? 1}`,
      `controller.quorum.voters=${o.cluster?.peers ?? `1@127.0.0.1:${o.auxPort}`}`,
      `listeners=PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.auxPort}${sasl ? `,SASL_PLAINTEXT://127.0.0.1:${o.saslPort}` : ""}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${o.advertisedPort ?? o.port}${sasl ? `,SASL_PLAINTEXT://127.0.0.1:${o.saslPort}` : ""}`,
      "controller.listener.names=CONTROLLER",
      "inter.broker.listener.name=PLAINTEXT",
      `listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${sasl ? ",SASL_PLAINTEXT:SASL_PLAINTEXT" : ""}`,
      ...(sasl
        ? [
            "sasl.enabled.mechanisms=PLAIN",
            `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${KAFKA_TEST_USER}="${TEST_PASSWORD}";`,
          ]
        : []),
      `log.dirs=${join(o.dataDir, "data")}`,
      "num.partitions=1",
      `default.replication.factor=${replicas}`,
      `min.insync.replicas=${Math.max(1, replicas - 1)}`,
      `offsets.topic.replication.factor=${replicas}`,
      "offsets.topic.num.partitions=10",
      `transaction.state.log.replication.factor=${replicas}`,
      `transaction.state.log.min.isr=${Math.max(1, replicas - 1)}`,
      `share.coordinator.state.topic.replication.factor=${replicas}`,
      `share.coordinator.state.topic.min.isr=${Math.max(1, replicas - 1)}`,
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
    const clusterId = o.cluster?.clusterId ?? kafkaClusterId();
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

/** The Debian package (and gcloud component) that holds the Pub/Sub emulator. */
export const PUBSUB_EMULATOR_PACKAGE = "google-cloud-cli-pubsub-emulator";

/**
 * The Pub/Sub emulator's jar: under `$CLOUDSDK_ROOT_DIR` when it is set, else the usual install
 * folders and the SDK folder of the `gcloud` on the PATH. Run directly with Java (no gcloud, no Python): it starts in
 * ~2 s and our pid is the JVM, so a stop or kill ends the emulator itself.
 */
export function pubsubEmulatorJar(): string {
  // CLOUDSDK_ROOT_DIR, when set, is the only place looked at (as gcloud itself does).
  const roots: (string | undefined)[] = [process.env.CLOUDSDK_ROOT_DIR];
  if (!process.env.CLOUDSDK_ROOT_DIR) {
    roots.push("/usr/lib/google-cloud-sdk", "/usr/share/google-cloud-sdk");
    const gcloud = which("gcloud");
    if (gcloud) {
      try {
        roots.push(dirname(dirname(realpathSync(gcloud))));
      } catch {}
    }
    roots.push("/opt/google-cloud-sdk", join(process.env.HOME ?? "/", "google-cloud-sdk"));
  }
  for (const root of roots) {
    if (!root) continue;
    const lib = join(root, "platform", "pubsub-emulator", "lib");
    if (!existsSync(lib)) continue;
    const jar = readdirSync(lib).find((f) => /^cloud-pubsub-emulator-.*\.jar$/.test(f));
    if (jar) return join(lib, jar);
  }
  throw new BrokerAbsentError(
    `pubsub: the Pub/Sub emulator is not installed (Debian package ${PUBSUB_EMULATOR_PACKAGE} from Google's apt repository, or \`gcloud components install pubsub-emulator\`; it needs Java 17)`,
  );
}

async function pubsub(o: ServerOptions): Promise<LaunchPlan> {
  const jar = pubsubEmulatorJar();
  const command = await java();
  // It logs every request at INFO: keep its start-up lines and warnings only.
  const logging = join(o.dataDir, "logging.properties");
  writeFileSync(
    logging,
    [
      "handlers=java.util.logging.ConsoleHandler",
      "java.util.logging.ConsoleHandler.level=ALL",
      ".level=WARNING",
      "com.google.cloud.pubsub.testing.v1.Main.level=INFO",
      "",
    ].join("\n"),
  );
  return {
    command,
    args: [
      "-Xmx512m",
      "-Djava.awt.headless=true",
      `-Djava.util.logging.config.file=${logging}`,
      "-jar",
      jar,
      "--host=127.0.0.1",
      `--port=${o.port}`,
    ],
    cwd: o.dataDir,
    logFile: join(o.dataDir, "emulator.log"),
    readyTimeoutMs: 60_000,
    env: childEnv(),
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

/**
 * The unpacked Apache ActiveMQ Artemis distribution (its `bin/artemis`), fetched by Maven from
 * Maven Central (`maven/activemq/pom.xml`: `apache-artemis:tar.gz:bin`) into `.omnibus/cache`,
 * keyed by the pom's hash. Concurrent starts may both unpack; the first rename wins.
 */
async function artemisHome(): Promise<string> {
  const pom = join(packageRoot(), "maven", "activemq", "pom.xml");
  const hash = createHash("sha256").update(readFileSync(pom)).digest("hex").slice(0, 16);
  const home = join(stateRoot(), "cache", `artemis-${hash}`);
  if (existsSync(join(home, "bin", "artemis"))) return home;
  const mvn = await ensureCommand("mvn", "maven");
  const work = `${home}.${process.pid}.tmp`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    await run(
      mvn,
      [
        "-q",
        "-B",
        "-f",
        pom,
        "dependency:copy-dependencies",
        "-DexcludeTransitive=true",
        `-DoutputDirectory=${work}`,
      ],
      { maxBuffer: 64 << 20 },
    );
    const archive = readdirSync(work).find((f) => f.endsWith(".tar.gz"));
    if (!archive) throw new Error(`mvn left no .tar.gz in ${work}`);
    await run("tar", ["xzf", join(work, archive), "-C", work], { maxBuffer: 64 << 20 });
    const unpacked = readdirSync(work).find((f) => f.startsWith("apache-artemis-"));
    if (!unpacked) throw new Error(`${archive} holds no apache-artemis-* folder`);
    try {
      renameSync(join(work, unpacked), home);
    } catch (error) {
      if (!existsSync(join(home, "bin", "artemis"))) throw error; // else another start won the race
    }
  } catch (error) {
    const out = `${(error as { stdout?: string }).stdout ?? ""}${(error as { stderr?: string }).stderr ?? ""}`;
    throw new Error(`could not fetch Apache ActiveMQ Artemis (${pom}): ${out.slice(-800) || String(error)}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return home;
}

/**
 * The broker.xml changes of an Omnibus Artemis instance: one acceptor (AMQP 1.0 + CORE for the
 * `artemis` CLI) on 127.0.0.1:`port` instead of the five default ones (5672, 1883, 61613, 5445 and
 * 61616: the first two collide with RabbitMQ and Mosquitto); no broker-side dead-lettering
 * (`max-delivery-attempts` -1: Omnibus core counts attempts and dead-letters); and no critical
 * analyzer, which halts the broker when a loaded 2-core machine stalls its I/O for two minutes.
 * Request-reply inboxes (core's `omnibus.inbox.` queues) are deleted by the broker once no consumer
 * is left, with what they hold: a late reply to a requester that left must not leave a queue behind.
 */
const INBOX_SETTING = `<address-setting match="omnibus.inbox.#">
            <max-delivery-attempts>-1</max-delivery-attempts>
            <auto-create-queues>true</auto-create-queues>
            <auto-create-addresses>true</auto-create-addresses>
            <auto-delete-queues>true</auto-delete-queues>
            <auto-delete-queues-delay>0</auto-delete-queues-delay>
            <auto-delete-queues-message-count>-1</auto-delete-queues-message-count>
            <auto-delete-addresses>true</auto-delete-addresses>
            <auto-delete-addresses-delay>0</auto-delete-addresses-delay>
         </address-setting>`;

export function artemisBrokerXml(xml: string, port: number): string {
  const acceptor =
    `tcp://127.0.0.1:${port}?protocols=AMQP,CORE;useEpoll=true;tcpSendBufferSize=1048576;` +
    "tcpReceiveBufferSize=1048576;amqpCredits=1000;amqpLowCredits=300;amqpMinLargeMessageSize=102400;" +
    "amqpDuplicateDetection=true";
  const patched = xml
    .replace(
      /<acceptors>[\s\S]*?<\/acceptors>/,
      `<acceptors>\n         <acceptor name="omnibus">${acceptor}</acceptor>\n      </acceptors>`,
    )
    .replace(/<critical-analyzer>true<\/critical-analyzer>/, "<critical-analyzer>false</critical-analyzer>")
    .replace(
      /(<address-setting match="#">)/,
      `${INBOX_SETTING}\n         $1\n            <max-delivery-attempts>-1</max-delivery-attempts>`,
    );
  if (!patched.includes(`127.0.0.1:${port}?`)) throw new Error("broker.xml has no <acceptors> to replace");
  return patched;
}

/** The Artemis user whose password is the test password (see {@link artemisTestUser}). */
export const ARTEMIS_TEST_USER = TEST_USER;

/** The user of a Kafka's SASL listener (see {@link ServerOptions.saslPort}); the same name. */
export const KAFKA_TEST_USER = ARTEMIS_TEST_USER;

/** Whether the Kafka whose data folder is `dataDir` was started with a SASL listener. */
export function kafkaHasSasl(dataDir: string): boolean {
  const file = join(dataDir, "server.properties");
  return existsSync(file) && readFileSync(file, "utf8").includes("SASL_PLAINTEXT://");
}

/**
 * Adds {@link ARTEMIS_TEST_USER} (password {@link TEST_PASSWORD}, role `amq`) to an Artemis
 * instance's user and role files, for the leak scan of `client/secrets-live`. Artemis's login
 * module reloads the files when they change, so a running instance takes the user too.
 */
export function artemisTestUser(dataDir: string): void {
  const users = join(dataDir, "etc", "artemis-users.properties");
  const roles = join(dataDir, "etc", "artemis-roles.properties");
  if (!existsSync(users) || !existsSync(roles)) return;
  const userLine = `${ARTEMIS_TEST_USER} = ${TEST_PASSWORD}`;
  const userText = readFileSync(users, "utf8");
  if (!userText.split("\n").includes(userLine)) {
    const kept = userText.split("\n").filter((l) => !l.startsWith(`${ARTEMIS_TEST_USER} `));
    writeFileSync(users, `${kept.join("\n").trimEnd()}\n${userLine}\n`);
  }
  const roleText = readFileSync(roles, "utf8");
  const lines = roleText.split("\n").map((line) => {
    const m = /^amq\s*=\s*(.*)$/.exec(line);
    if (!m) return line;
    const members = m[1]!
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
    return members.includes(ARTEMIS_TEST_USER) ? line : `amq = ${[...members, ARTEMIS_TEST_USER].join(",")}`;
  });
  if (lines.join("\n") !== roleText) writeFileSync(roles, lines.join("\n"));
}

async function activemq(o: ServerOptions): Promise<LaunchPlan> {
  const command = await java();
  const home = await artemisHome();
  const artemis = join(o.dataDir, "bin", "artemis");
  if (!existsSync(artemis)) {
    try {
      await run(
        join(home, "bin", "artemis"),
        [
          "create",
          o.dataDir,
          "--force",
          "--silent",
          "--user",
          "artemis",
          "--password",
          "artemis",
          "--require-login",
          "--host",
          "127.0.0.1",
          "--no-web",
          "--no-amqp-acceptor",
          "--no-hornetq-acceptor",
          "--no-mqtt-acceptor",
          "--no-stomp-acceptor",
          "--nio",
          "--no-autotune", // its journal sync test takes seconds at every create
          "--java-memory",
          "512M",
        ],
        { env: childEnv({ JAVACMD: command }), maxBuffer: 64 << 20 },
      );
    } catch (error) {
      throw new Error(
        `artemis create failed: ${String((error as { stderr?: string }).stderr ?? error).slice(-800)}`,
      );
    }
    renameSync(join(o.dataDir, "etc", "broker.xml"), join(o.dataDir, "etc", "broker.xml.created"));
  }
  // From the one `artemis create` wrote, at every start: an instance made by an older version of
  // this tool gets the current settings.
  const created = readFileSync(join(o.dataDir, "etc", "broker.xml.created"), "utf8");
  writeFileSync(join(o.dataDir, "etc", "broker.xml"), artemisBrokerXml(created, o.port));
  artemisTestUser(o.dataDir);
  return {
    command: artemis,
    args: ["run"],
    cwd: o.dataDir,
    logFile: join(o.dataDir, "log", "stdout.log"),
    readyTimeoutMs: 120_000,
    env: childEnv({ JAVACMD: command }),
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
    case "pubsub":
      return pubsub(options);
    case "activemq":
      return activemq(options);
    case "postgres":
      return postgres(options);
  }
}
