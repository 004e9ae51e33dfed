import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, realpathSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type BrokerName, packageRoot, stateRoot } from "./config.js";
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
};

/**
 * A broker whose server is not installed here and that this tool cannot install (the Pub/Sub
 * emulator comes from Google's apt repository or `gcloud components`): `up` reports it absent
 * rather than failing, and its tests skip with {@link BrokerAbsentError.message}.
 */
export class BrokerAbsentError extends Error {
  override readonly name = "BrokerAbsentError";
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
  const conf = [`listeners.tcp.default = 127.0.0.1:${o.port}`, "loopback_users.guest = true"];
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
  writeFileSync(
    properties,
    [
      "process.roles=broker,controller",
      `node.id=${o.cluster?.id ?? 1}`,
      `controller.quorum.voters=${o.cluster?.peers ?? `1@127.0.0.1:${o.auxPort}`}`,
      `listeners=PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.auxPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${o.advertisedPort ?? o.port}`,
      "controller.listener.names=CONTROLLER",
      "inter.broker.listener.name=PLAINTEXT",
      "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
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
  }
}
