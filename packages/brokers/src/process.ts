import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

/** Runs a command without blocking the event loop (probes of other brokers run meanwhile). */
export const run = promisify(execFile);

/** A detached server process, recorded so that another process (the CLI's `down`) can stop it. */
export interface ProcessRecord {
  readonly pid: number;
  /** /proc start time of `pid`, so a recycled pid is never taken for our server. */
  readonly startTime: string | undefined;
  readonly logFile: string;
}

function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** Whether the recorded process is still the one we started. */
export function isAlive(record: Pick<ProcessRecord, "pid" | "startTime">): boolean {
  try {
    process.kill(record.pid, 0);
  } catch {
    return false;
  }
  if (record.startTime === undefined || !existsSync("/proc/self/stat")) return true;
  const now = procStartTime(record.pid);
  if (now === undefined) return false;
  if (now !== record.startTime) return false;
  // a zombie (exited, not yet reaped by our own process) counts as gone
  try {
    const stat = readFileSync(`/proc/${record.pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

export interface Spawned extends ProcessRecord {
  readonly child: ChildProcess;
  /** Set once the process has exited: why, with the end of its log. */
  exitReason(): string | undefined;
}

/**
 * Starts `command` in its own process group, stdout/stderr appended to `logFile`, stdin closed,
 * so it outlives this process. Call `child.unref()` when this process should not wait for it.
 */
export function spawnDetached(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; logFile: string },
): Spawned {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const fd = openSync(options.logFile, "a");
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  let exited: string | undefined;
  child.once("error", (error) => {
    exited = `could not run ${command}: ${error.message}`;
  });
  child.once("exit", (code, signal) => {
    exited = `${command} exited (${signal ?? `code ${code}`}) before it was ready; end of ${options.logFile}:\n${tail(options.logFile)}`;
  });
  const pid = child.pid ?? -1;
  return {
    pid,
    startTime: pid > 0 ? procStartTime(pid) : undefined,
    logFile: options.logFile,
    child,
    exitReason: () => exited,
  };
}

/** The last `bytes` of a file, for error messages. */
export function tail(file: string, bytes = 1500): string {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, "r");
    const buffer = Buffer.alloc(Math.min(bytes, size));
    readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    closeSync(fd);
    return buffer.toString("utf8");
  } catch {
    return "(no log)";
  }
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 20;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
  return true;
}

function signalGroup(record: ProcessRecord, signal: NodeJS.Signals): void {
  try {
    process.kill(-record.pid, signal); // the whole process group (we started it as its leader)
  } catch {
    try {
      process.kill(record.pid, signal);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM to the process group, wait up to `graceMs`, then SIGKILL. Resolves once it has exited. */
export async function stopProcess(
  record: ProcessRecord,
  graceMs = 30_000,
  signal: NodeJS.Signals = "SIGTERM",
): Promise<void> {
  if (!isAlive(record)) return;
  signalGroup(record, signal);
  if (await until(() => !isAlive(record), graceMs)) {
    signalGroup(record, "SIGKILL"); // helpers left in the group
    return;
  }
  signalGroup(record, "SIGKILL");
  if (!(await until(() => !isAlive(record), 10_000)))
    throw new Error(`process ${record.pid} survived SIGKILL`);
}

/** The kernel's range for the local ports of outgoing connections (Linux; the usual one elsewhere). */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    if (low! > 0 && high! >= low!) return [low!, high!];
  } catch {
    // not Linux
  }
  return [32_768, 60_999];
}

/** Where ports handed out by {@link freePort} are reserved, one folder per port (shared by every checkout). */
const reservations = join(tmpdir(), "omnibus-ports");
const reservedHere = new Set<number>();

function releaseReservations(): void {
  for (const port of reservedHere) rmSync(join(reservations, String(port)), { recursive: true, force: true });
  reservedHere.clear();
}

/** Reserves `port` for this process (an atomic `mkdir`); takes over a reservation whose owner has died. */
function reserve(port: number): boolean {
  if (reservedHere.has(port)) return false;
  const dir = join(reservations, String(port));
  mkdirSync(reservations, { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      mkdirSync(dir);
      writeFileSync(
        join(dir, "owner.json"),
        JSON.stringify({ pid: process.pid, startTime: procStartTime(process.pid) }),
      );
      if (reservedHere.size === 0) process.once("exit", releaseReservations);
      reservedHere.add(port);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = readJson<Pick<ProcessRecord, "pid" | "startTime">>(join(dir, "owner.json"));
      // A reservation being written has no owner file yet: leave it alone unless it is old.
      const stale = owner ? !isAlive(owner) : Date.now() - statSync(dir).mtimeMs > 60_000;
      if (!stale) return false;
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return false;
}

/** Whether 127.0.0.1:port can be listened on right now. */
function canListen(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolvePromise(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () =>
      server.close(() => resolvePromise(true)),
    );
  });
}

/**
 * A TCP port free on 127.0.0.1, for a server this process starts (and may kill and start again).
 *
 * It lies below the kernel's ephemeral range, so that while the server is down no outgoing
 * connection (a client reconnecting to it even: TCP self-connect) can take its port, and it is
 * reserved for this process until it exits (across processes and checkouts: a folder per port
 * under the temp directory), so that no other test starts a server on it meanwhile.
 * `below` bounds it further (a Redis cluster node also listens on port + 10000).
 */
export async function freePort(options: { below?: number } = {}): Promise<number> {
  const [ephemeralLow] = ephemeralRange();
  const low = 10_000;
  const high = Math.min(ephemeralLow, options.below ?? ephemeralLow) - 1;
  if (high <= low) throw new Error(`no port range below ${high + 1} to choose from`);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (!reserve(port)) continue;
    if (await canListen(port)) return port;
    // Something outside Omnibus listens there: give the reservation back and draw again.
    reservedHere.delete(port);
    rmSync(join(reservations, String(port)), { recursive: true, force: true });
  }
  throw new Error(`no free port found between ${low} and ${high} in 200 tries`);
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function portTaken(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const server = createServer();
    server.once("error", () => resolvePromise(true));
    server.listen(port, "127.0.0.1", () => server.close(() => resolvePromise(false)));
  });
}

export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch {
    return undefined;
  }
}

export function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(temp, file);
}

export function removeFile(file: string): void {
  rmSync(file, { force: true });
}

export function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const candidate = join(dir, command);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * The path of `command`, installing Debian `pkg` with apt-get when it is missing and we are root.
 * Throws with the reason otherwise.
 */
export async function ensureCommand(
  command: string,
  pkg: string,
  extraPaths: readonly string[] = [],
): Promise<string> {
  const found =
    [...extraPaths].find((p) => existsSync(p)) ??
    which(command) ??
    ["/usr/sbin", "/usr/bin", "/sbin"].map((d) => join(d, command)).find((p) => existsSync(p));
  if (found) return found;
  if (process.getuid?.() !== 0 || !which("apt-get")) {
    throw new Error(
      `${command} is not installed (Debian package ${pkg}); install it, or run as root on Debian to have it installed`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  try {
    await run("apt-get", ["update"], { env, maxBuffer: 64 << 20 });
    await run("apt-get", ["install", "-y", "--no-install-recommends", pkg], { env, maxBuffer: 64 << 20 });
  } catch (error) {
    throw new Error(
      `apt-get install ${pkg} failed: ${String((error as { stderr?: string }).stderr ?? error).slice(-500)}`,
    );
  }
  return ensureCommand(command, pkg, extraPaths);
}

/**
 * The Java classpath of the pom at `pomFile`, resolved by Maven (downloads on first use) and cached in
 * `cacheFile` keyed by the pom's hash, so a warm start runs no Maven at all.
 */
export async function mavenClasspath(pomFile: string, cacheFile: string): Promise<string> {
  const hash = createHash("sha256").update(readFileSync(pomFile)).digest("hex");
  const cached = readJson<{ hash: string; classpath: string }>(cacheFile);
  if (cached?.hash === hash && cached.classpath.split(":").every((jar) => existsSync(jar)))
    return cached.classpath;
  const mvn = await ensureCommand("mvn", "maven");
  const output = `${cacheFile}.${process.pid}.txt`;
  mkdirSync(dirname(cacheFile), { recursive: true });
  try {
    await run(mvn, ["-q", "-B", "-f", pomFile, "dependency:build-classpath", `-Dmdep.outputFile=${output}`], {
      maxBuffer: 64 << 20,
    });
  } catch (error) {
    const out = `${(error as { stdout?: Buffer }).stdout ?? ""}${(error as { stderr?: string }).stderr ?? ""}`;
    throw new Error(`mvn could not resolve ${pomFile}: ${out.slice(-800) || String(error)}`);
  }
  const classpath = readFileSync(output, "utf8").trim();
  rmSync(output, { force: true });
  writeJson(cacheFile, { hash, classpath });
  return classpath;
}
