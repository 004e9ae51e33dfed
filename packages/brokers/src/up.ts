import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import {
  BROKER_NAMES,
  BROKER_SPECS,
  type BrokerName,
  type BrokerSource,
  brokerUrl,
  maskUrl,
  stateRoot,
  TEST_USER,
} from "./config.js";
import { dockerMayAnswer } from "./container.js";
import { type InstanceRecord, launch, privateRoot, readRecord, recordAlive, stopRecord } from "./instance.js";
import { answers, probe, waitReady } from "./probe.js";
import { isAlive, portTaken, removeFile, writeJson } from "./process.js";
import { artemisTestUser, BrokerAbsentError, kafkaHasSasl, pubsubEmulatorJar } from "./servers.js";
import { rabbitmqTestUser } from "./test-user.js";

/** RabbitMQ's own default login, on the standard port. */
const GUEST_URL = "amqp://guest:guest@127.0.0.1:5672";

/** One broker as `up` or `status` found it. */
export interface BrokerStatus {
  readonly name: BrokerName;
  /** `undefined` when nothing answers (status only). */
  readonly source: BrokerSource | undefined;
  /** The client URL, unmasked: mask it with {@link maskUrl} before printing. */
  readonly url: string;
  /** Whether it answered its protocol just now. */
  readonly ready: boolean;
  /** Why not, when it did not. */
  readonly reason?: string;
  /**
   * An optional broker (the Pub/Sub emulator) that is not installed here: `up` reports it instead
   * of failing, with the missing package in {@link BrokerStatus.reason}; its tests skip.
   */
  readonly absent?: boolean;
}

function stateFile(name: BrokerName): string {
  return join(stateRoot(), "state", `${name}.json`);
}

function fromEnv(name: BrokerName): string | undefined {
  const value = process.env[BROKER_SPECS[name].envVar];
  return value ? value : undefined;
}

function liveRecord(name: BrokerName): InstanceRecord | undefined {
  const record = readRecord(stateFile(name));
  if (!record) return undefined;
  if (record.containerId || recordAlive(record)) return record;
  removeFile(stateFile(name)); // it died: forget it
  return undefined;
}

/**
 * Runs `work` holding `.omnibus/state/<name>.lock`, so that two `up` at once (two terminals, parallel
 * test processes) never start the same broker twice. A lock whose holder has exited is taken over.
 */
async function locked<T>(name: BrokerName, work: () => Promise<T>): Promise<T> {
  const file = join(stateRoot(), "state", `${name}.lock`);
  mkdirSync(join(stateRoot(), "state"), { recursive: true });
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(readFileSync(file, "utf8") || "0");
      if (holder > 0 && !isAlive({ pid: holder, startTime: undefined })) {
        removeFile(file);
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`${name}: another \`brokers up\` (pid ${holder}) holds ${file}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await work();
  } finally {
    removeFile(file);
  }
}

/** Brings up one broker following the resolution order; rejects with a reason naming it. */
async function upOne(name: BrokerName): Promise<BrokerStatus> {
  const envUrl = fromEnv(name);
  if (envUrl) return upFromEnv(name, envUrl);
  try {
    return await locked(name, () => upLocal(name));
  } catch (error) {
    if (!(BROKER_SPECS[name].optional && error instanceof BrokerAbsentError)) throw error;
    return {
      name,
      source: undefined,
      url: BROKER_SPECS[name].defaultUrl,
      ready: false,
      reason: error.message,
      absent: true,
    };
  }
}

async function upFromEnv(name: BrokerName, envUrl: string): Promise<BrokerStatus> {
  try {
    await waitReady(name, envUrl, 10_000);
  } catch (error) {
    throw new Error(
      `${name}: ${BROKER_SPECS[name].envVar}=${maskUrl(envUrl)} does not answer: ${(error as Error).message}`,
    );
  }
  return { name, source: "env", url: envUrl, ready: true };
}

async function upLocal(name: BrokerName): Promise<BrokerStatus> {
  const url = BROKER_SPECS[name].defaultUrl;
  const record = liveRecord(name);
  // A Kafka started by an earlier version of this tool has no SASL listener: started again with one.
  if (
    record &&
    name === "kafka" &&
    record.source === "local" &&
    record.dataDir &&
    !kafkaHasSasl(record.dataDir)
  ) {
    await stopRecord(record);
    removeFile(stateFile(name));
  } else if (record) {
    // An Artemis started by an earlier version of this tool gets the test user too (it reloads).
    if (name === "activemq" && record.source === "local" && record.dataDir) artemisTestUser(record.dataDir);
    await waitReady(name, record.url, 30_000).catch((error: Error) => {
      throw new Error(
        `${name}: the ${record.source} server started earlier (pid ${record.pid ?? record.containerId}) does not answer: ${error.message}; run \`pnpm brokers down ${name}\``,
      );
    });
    return { name, source: record.source, url: record.url, ready: true };
  }
  if (await answers(name, url)) return { name, source: "running", url, ready: true };
  // A RabbitMQ of the machine's own, with guest only: the tests' user is added to it.
  if (name === "rabbitmq" && (await answers(name, GUEST_URL))) {
    const made = await rabbitmqTestUser(GUEST_URL);
    if (made.password === undefined)
      throw new Error(
        `rabbitmq: the server on 127.0.0.1:5672 has no user ${TEST_USER} and one could not be added (${made.reason}); add it, or set OMNIBUS_RABBITMQ_URL`,
      );
    await waitReady(name, url, 10_000);
    return { name, source: "running", url, ready: true };
  }
  const port = BROKER_SPECS[name].defaultPort;
  if (await portTaken(port)) {
    const why = await probe(name, url).then(
      () => "",
      (error: Error) => error.message,
    );
    throw new Error(
      `${name}: 127.0.0.1:${port} is taken by something that does not answer as ${name} (${why})`,
    );
  }
  const dataDir = join(stateRoot(), name);
  const auxPort = name === "rabbitmq" ? port + 20_000 : name === "kafka" ? port + 1 : 0;
  let localError: Error;
  try {
    // Kafka: a SASL listener beside the plain one, for the leak scan (see kafkaTestCredentials).
    const saslPort = name === "kafka" ? port + 2 : undefined;
    const started = await launch(name, { port, auxPort, dataDir, ...(saslPort ? { saslPort } : {}) });
    writeJson(stateFile(name), {
      name,
      source: "local",
      url: started.url,
      port,
      dataDir,
      pid: started.pid,
      startTime: started.startTime,
      logFile: started.logFile,
    } satisfies InstanceRecord);
    return { name, source: "local", url: started.url, ready: true };
  } catch (error) {
    localError = error as Error;
  }
  if (dockerMayAnswer()) {
    try {
      const { startContainer } = await import("./container.js");
      const containerId = await startContainer(name);
      writeJson(stateFile(name), {
        name,
        source: "container",
        url,
        port,
        containerId,
      } satisfies InstanceRecord);
      await waitReady(name, url, 60_000);
      return { name, source: "container", url, ready: true };
    } catch (error) {
      throw new Error(`${localError.message}; and no container either: ${(error as Error).message}`);
    }
  }
  throw localError;
}

function selected(names: readonly BrokerName[]): readonly BrokerName[] {
  return names.length > 0 ? names : BROKER_NAMES;
}

/**
 * Makes each named broker (all of them when none) available on loopback: the `OMNIBUS_*` URL when
 * set, else a server already answering on the standard port, else a local server (Debian packages,
 * Maven Central, fauxqs, the Pub/Sub emulator; PostgreSQL: a cluster of its own in
 * `.omnibus/postgres`), else a container. Rejects when any one cannot be had, naming it and why;
 * the others are brought up regardless. An optional broker that is not installed (the Pub/Sub
 * emulator) does not reject: its status says `absent` and why.
 */
export async function up(names: readonly BrokerName[] = []): Promise<BrokerStatus[]> {
  const results = await Promise.allSettled(selected(names).map((name) => upOne(name)));
  const failures = results.flatMap((r) => (r.status === "rejected" ? [(r.reason as Error).message] : []));
  if (failures.length > 0) throw new Error(failures.join("\n"));
  return results.map((r) => (r as PromiseFulfilledResult<BrokerStatus>).value);
}

/** Where each named broker comes from now, and whether it answers. Never starts anything. */
export async function status(names: readonly BrokerName[] = []): Promise<BrokerStatus[]> {
  return Promise.all(
    selected(names).map(async (name): Promise<BrokerStatus> => {
      const envUrl = fromEnv(name);
      const record = envUrl ? undefined : liveRecord(name);
      const url = envUrl ?? record?.url ?? BROKER_SPECS[name].defaultUrl;
      const reason = await probe(name, url).then(
        () => undefined,
        (error: Error) => error.message,
      );
      const source: BrokerSource | undefined = envUrl
        ? "env"
        : record
          ? record.source
          : reason
            ? undefined
            : "running";
      return { name, source, url, ready: reason === undefined, ...(reason ? { reason } : {}) };
    }),
  );
}

/** What `down` did. */
export interface DownReport {
  readonly stopped: string[];
  readonly kept: string[];
}

/**
 * Stops what `up` started (state files in `.omnibus/state`) and leftover private instances whose
 * test process is gone. Never touches a broker it did not start.
 */
export async function down(names: readonly BrokerName[] = []): Promise<DownReport> {
  const report: DownReport = { stopped: [], kept: [] };
  await Promise.all(
    selected(names).map((name) =>
      locked(name, async () => {
        const record = readRecord(stateFile(name));
        if (!record) return;
        if (record.containerId || recordAlive(record)) {
          await stopRecord(record);
          report.stopped.push(`${name} (${record.source}${record.pid ? `, pid ${record.pid}` : ""})`);
        }
        removeFile(stateFile(name));
      }),
    ),
  );
  const root = privateRoot();
  if (existsSync(root)) {
    for (const entry of readdirSync(root)) {
      const dir = join(root, entry);
      const record = readRecord(join(dir, "instance.json"));
      if (record && !selected(names).includes(record.name)) continue;
      if (
        record?.owner !== undefined &&
        record.owner !== process.pid &&
        isAlive({ pid: record.owner, startTime: undefined })
      ) {
        report.kept.push(`private ${entry} (its test process ${record.owner} is running)`);
        continue;
      }
      if (record && recordAlive(record)) {
        await stopRecord(record);
        report.stopped.push(`private ${entry} (pid ${record.pid})`);
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return report;
}

/** `export OMNIBUS_…=…` lines for the brokers `up` provides (variables already set are left alone). */
export function envLines(names: readonly BrokerName[] = []): string[] {
  const chosen = selected(names);
  const lines = chosen.map((name) => {
    const { envVar } = BROKER_SPECS[name];
    if (fromEnv(name)) return `# ${envVar} is already set`;
    const url = liveRecord(name)?.url ?? brokerUrl(name);
    return `export ${envVar}=${url}`;
  });
  // What to give createClient({ url }) for each adapter, on these endpoints.
  lines.push("# Omnibus URLs (createClient({ url })):");
  for (const [adapter, url] of Object.entries(omnibusUrls(chosen)))
    lines.push(`#   ${adapter.padEnd(9)} ${url}`);
  return lines;
}

/**
 * The `createClient({ url })` URL of each adapter on the brokers `up` brought up (or that the env
 * names): `amqp://…`, `kafka://host:port`, `sqs://host:port` (with `?sns=…` when SNS is there),
 * `nats://…`, `redis://…`, `pubsub://<project>?emulatorHost=host:port` (only when an emulator was
 * started or named), `activemq://…` (Artemis), `postgres://…`, and `memory://`.
 */
export function omnibusUrls(names: readonly BrokerName[] = BROKER_NAMES): Record<string, string> {
  const url = (name: BrokerName) => liveRecord(name)?.url ?? brokerUrl(name);
  const hostPort = (endpoint: string) => endpoint.replace(/^[a-z]+:\/\//, "").replace(/\/.*$/, "");
  const out: Record<string, string> = { memory: "memory://" };
  if (names.includes("rabbitmq")) out.rabbitmq = url("rabbitmq");
  if (names.includes("kafka")) out.kafka = `kafka://${url("kafka")}`;
  if (names.includes("sqs")) out.sqs = `sqs://${hostPort(url("sqs"))}`;
  if (names.includes("sns")) out["sqs+sns"] = `sqs://${hostPort(url("sns"))}?sns=${url("sns")}`;
  if (names.includes("nats")) out.nats = url("nats");
  if (names.includes("redis")) out.redis = url("redis");
  // The project id is free on the emulator; the emulator host rides in the query. Left out only
  // where the emulator can't be had (`up` starts it where it is installed; a checkout that found
  // it already running, started by another, has no record of its own).
  if (names.includes("pubsub") && (fromEnv("pubsub") || liveRecord("pubsub") || pubsubInstalled()))
    out.pubsub = `pubsub://omnibus?emulatorHost=${url("pubsub")}`;
  // The broker tool names Artemis's endpoint amqp:// (AMQP 1.0); the adapter's scheme is activemq://.
  if (names.includes("activemq")) out.activemq = url("activemq").replace(/^amqp:/, "activemq:");
  if (names.includes("postgres")) out.postgres = url("postgres");
  return out;
}

/** Whether the Pub/Sub emulator is installed on this machine. */
function pubsubInstalled(): boolean {
  try {
    pubsubEmulatorJar();
    return true;
  } catch (error) {
    if (error instanceof BrokerAbsentError) return false;
    throw error;
  }
}

/**
 * Why an optional broker cannot be had here (the Pub/Sub emulator not installed, nothing
 * answering for it), or `undefined` when it can: tests of such a broker skip with this reason.
 * @example
 * const absent = await absentReason("pubsub");
 * describe.skipIf(absent !== undefined)(`pubsub${absent ? ` (skipped: ${absent})` : ""}`, () => {});
 */
export async function absentReason(name: BrokerName): Promise<string | undefined> {
  if (!BROKER_SPECS[name].optional || fromEnv(name)) return undefined;
  if (await answers(name, liveRecord(name)?.url ?? brokerUrl(name))) return undefined;
  try {
    if (name === "pubsub") pubsubEmulatorJar();
  } catch (error) {
    if (error instanceof BrokerAbsentError) return error.message;
  }
  return undefined;
}
