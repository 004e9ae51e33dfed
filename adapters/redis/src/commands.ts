import type { ChainableCommander } from "ioredis";
import type { RedisClient } from "./client.js";
import {
  CLAIM,
  FORGET_CONSUMER,
  IDEMPOTENCY_CLAIM,
  IDEMPOTENCY_COMPLETE,
  IDEMPOTENCY_EXTEND,
  IDEMPOTENCY_RELEASE,
  NACK,
  OWN,
  PROMOTE,
  SEND,
  TRIM,
} from "./scripts.js";

const SCRIPTS = {
  omnibusSend: SEND,
  omnibusPromote: PROMOTE,
  omnibusNack: NACK,
  omnibusClaim: CLAIM,
  omnibusOwn: OWN,
  omnibusTrim: TRIM,
  omnibusForgetConsumer: FORGET_CONSUMER,
  omnibusIdemClaim: IDEMPOTENCY_CLAIM,
  omnibusIdemComplete: IDEMPOTENCY_COMPLETE,
  omnibusIdemRelease: IDEMPOTENCY_RELEASE,
  omnibusIdemExtend: IDEMPOTENCY_EXTEND,
} as const;

/** A Lua script of this package. */
export type ScriptName = keyof typeof SCRIPTS;

type Arg = string | Buffer | number;

const INSTALLED = Symbol.for("omnibus.redis.scripts");

/**
 * Register the scripts on a client (once). ioredis then sends `EVALSHA`, and the full script the
 * first time on each connection (so a restarted Redis never answers `NOSCRIPT` to us).
 */
export function installScripts(client: RedisClient): void {
  const marked = client as unknown as Record<symbol, boolean>;
  if (marked[INSTALLED]) return;
  for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, { lua });
  marked[INSTALLED] = true;
}

/** Run a script on a client, or queue it on a pipeline. Replies as strings unless `buffers`. */
export function runScript(
  target: RedisClient | ChainableCommander,
  name: ScriptName,
  keys: readonly string[],
  args: readonly Arg[],
  buffers = false,
): Promise<unknown> {
  const fn = (target as unknown as Record<string, (...a: Arg[]) => Promise<unknown>>)[
    buffers ? `${name}Buffer` : name
  ];
  if (typeof fn !== "function") throw new Error(`redis: script ${name} is not installed on this client`);
  return fn.call(target, keys.length, ...keys, ...args);
}
