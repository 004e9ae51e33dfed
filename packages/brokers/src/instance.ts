import { rmSync } from "node:fs";
import { join } from "node:path";
import { type BrokerName, localUrl, stateRoot } from "./config.js";
import { waitReady } from "./probe.js";
import {
  freePort,
  isAlive,
  type ProcessRecord,
  readJson,
  removeFile,
  spawnDetached,
  stopProcess,
  writeJson,
} from "./process.js";
import { gracefulSignal, needsAuxPort, planServer, type ServerOptions } from "./servers.js";

/** What the state files in `.omnibus/` hold about a server this tool started. */
export interface InstanceRecord extends Partial<ProcessRecord> {
  readonly name: BrokerName;
  readonly source: "local" | "container";
  readonly url: string;
  readonly port: number;
  readonly dataDir?: string;
  readonly containerId?: string;
  /** Private instances: the process that started it. */
  readonly owner?: number;
}

/** Starts a local server and resolves once it answers its protocol; stops it again if it does not. */
export async function launch(
  name: BrokerName,
  options: ServerOptions,
): Promise<ProcessRecord & { url: string }> {
  const plan = await planServer(name, options);
  const url = localUrl(name, options.port);
  const spawned = spawnDetached(plan.command, plan.args, {
    cwd: plan.cwd,
    env: plan.env,
    logFile: plan.logFile,
  });
  try {
    await waitReady(name, url, plan.readyTimeoutMs, spawned.exitReason);
  } catch (error) {
    await stopProcess(spawned, 5_000).catch(() => {});
    throw new Error(
      `${name}: the local server on 127.0.0.1:${options.port} did not come up: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    spawned.child.unref();
  }
  return { pid: spawned.pid, startTime: spawned.startTime, logFile: spawned.logFile, url };
}

/** Stops what a record describes, if it is still alive. */
export async function stopRecord(record: InstanceRecord): Promise<void> {
  if (record.containerId) {
    const { removeContainer } = await import("./container.js");
    await removeContainer(record.containerId);
  } else if (record.pid !== undefined && record.logFile !== undefined) {
    await stopProcess(record as InstanceRecord & ProcessRecord, 30_000, gracefulSignal(record.name));
  }
}

export function recordAlive(record: InstanceRecord): boolean {
  return record.pid !== undefined && isAlive({ pid: record.pid, startTime: record.startTime });
}

/** A broker server of its own for restart and failure tests (see {@link startPrivate}). */
export interface PrivateBroker {
  readonly name: BrokerName;
  /** Client URL (`host:port` for Kafka). */
  readonly url: string;
  readonly port: number;
  /** Its data folder, kept across `stop`/`start`/`restart`/`kill`, removed on dispose. */
  readonly dataDir: string;
  /** Starts it again after `stop` or `kill` (no-op while running); resolves when it answers. */
  start(): Promise<void>;
  /** Graceful stop (SIGTERM, PostgreSQL SIGINT; then SIGKILL after 30 s); data is kept. */
  stop(): Promise<void>;
  /** `stop` then `start`: durable data survives. */
  restart(): Promise<void>;
  /** SIGKILL: a crash. `start` brings it back on the same port and data. */
  kill(): Promise<void>;
  /** Stops it and removes its data folder. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link startPrivate}. */
export interface PrivateOptions {
  /**
   * Redis only: `appendonly yes` + `appendfsync always`, so data survives `restart` and `kill`.
   * (RabbitMQ, NATS JetStream and Kafka always persist to their data folder.)
   * @default false
   */
  readonly persistence?: boolean;
  /**
   * Kafka only: the port the broker advertises to clients instead of its own, for a proxy in front
   * of it (`tcpProxy({ port: advertisedPort, target: { port: broker.port } })`): Kafka clients
   * connect to the advertised address, so without it they would go round the proxy.
   */
  readonly advertisedPort?: number;
  /** The client port to use (it must be free). @default a free port */
  readonly port?: number;
}

/** `.omnibus/private/`: one folder per private instance, with its `instance.json`. */
export function privateRoot(): string {
  return join(stateRoot(), "private");
}

class LocalPrivateBroker implements PrivateBroker {
  readonly url: string;
  #process: ProcessRecord | undefined;

  constructor(
    readonly name: BrokerName,
    readonly port: number,
    readonly auxPort: number,
    readonly dataDir: string,
    readonly persistence: boolean,
    readonly advertisedPort: number | undefined,
  ) {
    this.url = localUrl(name, port);
  }

  get #recordFile(): string {
    return join(this.dataDir, "instance.json");
  }

  async start(): Promise<void> {
    if (this.#process && isAlive(this.#process)) return;
    const started = await launch(this.name, {
      port: this.port,
      auxPort: this.auxPort,
      dataDir: this.dataDir,
      persistence: this.persistence,
      ...(this.advertisedPort === undefined ? {} : { advertisedPort: this.advertisedPort }),
    });
    this.#process = started;
    const record: InstanceRecord = {
      name: this.name,
      source: "local",
      url: this.url,
      port: this.port,
      dataDir: this.dataDir,
      owner: process.pid,
      pid: started.pid,
      startTime: started.startTime,
      logFile: started.logFile,
    };
    writeJson(this.#recordFile, record);
  }

  async stop(): Promise<void> {
    await this.#end(gracefulSignal(this.name));
  }

  async kill(): Promise<void> {
    await this.#end("SIGKILL");
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  async #end(signal: NodeJS.Signals): Promise<void> {
    const current = this.#process;
    if (!current) return;
    await stopProcess(current, 30_000, signal);
    this.#process = undefined;
    removeFile(this.#recordFile);
  }
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/**
 * Starts a private server of `name` on a free loopback port with its own data folder under
 * `.omnibus/private/<name>-<port>`, and resolves once it answers its protocol. It never touches
 * the shared services, so tests may stop, kill and restart it.
 * @example
 * await using redis = await startPrivate("redis", { persistence: true });
 * await redis.restart(); // data written before is still there
 */
export async function startPrivate(name: BrokerName, options: PrivateOptions = {}): Promise<PrivateBroker> {
  const ports = await distinctFreePorts((needsAuxPort[name] ? 2 : 1) + (options.port === undefined ? 0 : 1));
  const port = options.port ?? ports.shift()!;
  const auxPort = needsAuxPort[name] ? ports.find((p) => p !== port) : undefined;
  const broker = new LocalPrivateBroker(
    name,
    port,
    auxPort ?? 0,
    join(privateRoot(), `${name}-${port}`),
    options.persistence ?? false,
    options.advertisedPort,
  );
  try {
    await broker.start();
  } catch (error) {
    rmSync(broker.dataDir, { recursive: true, force: true });
    throw error;
  }
  return broker;
}

export function readRecord(file: string): InstanceRecord | undefined {
  return readJson<InstanceRecord>(file);
}
