/**
 * Adapters by URL scheme. Every adapter package registers its schemes (`registerAdapter`); the
 * adapters of this repository are also known to core as lazy loaders, so `createClient({ url })` finds
 * them without an import. An adapter of another package registers the same way, or is passed to
 * `createClient` in `adapters`.
 * @module
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError, redact } from "./errors.js";
import type { Adapter, AdapterFactoryFromUrl } from "./spi.js";

/** What an adapter module offers core: its `fromUrl` (and anything else). */
export interface AdapterModule {
  readonly fromUrl: AdapterFactoryFromUrl;
}

/**
 * How core gets an adapter for a scheme: the module itself (its `fromUrl` then checks a URL at
 * `createClient`), or a function loading it (at the first connect).
 */
export type AdapterSource = AdapterModule | (() => AdapterModule | Promise<AdapterModule>);

const SCHEME = /^[a-z][a-z0-9+.-]*$/;

/** Packages of the adapters in this repository, loaded on first use. */
const BUILT_IN: Readonly<Record<string, string>> = {
  memory: "@omnibus/memory",
  amqp: "@omnibus/rabbitmq",
  amqps: "@omnibus/rabbitmq",
  kafka: "@omnibus/kafka",
  sqs: "@omnibus/sqs",
  nats: "@omnibus/nats",
  redis: "@omnibus/redis",
  rediss: "@omnibus/redis",
  pubsub: "@omnibus/pubsub",
  activemq: "@omnibus/activemq",
  activemqs: "@omnibus/activemq",
  amqp10: "@omnibus/activemq",
  amqp10s: "@omnibus/activemq",
  postgres: "@omnibus/postgres",
  postgresql: "@omnibus/postgres",
};

const registry = new Map<string, AdapterSource>();

/**
 * Make `createClient({ url })` build adapters of `scheme` (without the `:`), e.g.
 * `registerAdapter("postgres", () => import("@acme/omnibus-postgres"))`. A later registration of a
 * scheme replaces the earlier one. An adapter package calls it for its own schemes when imported.
 *
 * @example
 * ```ts
 * import { createClient, registerAdapter } from "@omnibus/core";
 * registerAdapter(["pg", "postgres"], () => import("./my-postgres-adapter.js"));
 * const bus = createClient({ url: "postgres://localhost/app" });
 * ```
 */
export function registerAdapter(scheme: string | readonly string[], source: AdapterSource): void {
  for (const s of typeof scheme === "string" ? [scheme] : scheme) {
    const name = s.replace(/:$/, "").toLowerCase();
    if (!SCHEME.test(name)) throw new ConfigError(`registerAdapter: invalid URL scheme ${JSON.stringify(s)}`);
    if (typeof source !== "function" && typeof (source as AdapterModule)?.fromUrl !== "function") {
      throw new ConfigError(
        `registerAdapter(${JSON.stringify(s)}): give a module with fromUrl(), or a function loading one`,
      );
    }
    registry.set(name, source);
  }
}

/** The schemes core can open: registered ones and the built-in ones. */
export function knownSchemes(): string[] {
  return [...new Set([...registry.keys(), ...Object.keys(BUILT_IN)])].sort();
}

/** The scheme of a broker URL, lower-cased; `ConfigError` when there is none or it is unknown. */
export function urlScheme(url: string, extra: Readonly<Record<string, AdapterSource>> = {}): string {
  if (typeof url !== "string") throw new ConfigError(`broker URL must be a string, got ${typeof url}`);
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(url.trim());
  if (!match) throw new ConfigError(`invalid broker URL ${JSON.stringify(redact(url))}: no scheme`);
  const scheme = match[1]!.toLowerCase();
  if (!(scheme in extra) && !registry.has(scheme) && !(scheme in BUILT_IN)) {
    throw new ConfigError(
      `unknown broker URL scheme "${scheme}:" in ${JSON.stringify(redact(url))}; known: ${[
        ...new Set([...Object.keys(extra), ...knownSchemes()]),
      ].join(", ")} (registerAdapter() adds one, or pass an adapter object)`,
    );
  }
  return scheme;
}

/**
 * The adapter for `url` now, when its module is at hand (registered as a module, or given in
 * `extra` as one): its `fromUrl` checks the URL and options at once. `undefined` when the module
 * must be loaded first.
 */
export function adapterFromUrlNow(
  url: string,
  options: Record<string, unknown> | undefined,
  extra: Readonly<Record<string, AdapterSource>> = {},
): Adapter | undefined {
  const source = extra[urlScheme(url, extra)] ?? registry.get(urlScheme(url, extra));
  if (source === undefined || typeof source === "function") return undefined;
  return source.fromUrl(url, options);
}

/**
 * Build the adapter for a URL: a registered (or `extra`) source, else the built-in package,
 * imported from core's own location first, then from the application's working directory.
 */
export async function adapterFromUrl(
  url: string,
  options: Record<string, unknown> | undefined,
  extra: Readonly<Record<string, AdapterSource>> = {},
): Promise<Adapter> {
  const scheme = urlScheme(url, extra);
  const source = extra[scheme] ?? registry.get(scheme);
  let mod: Partial<AdapterModule>;
  let from: string;
  if (source !== undefined) {
    mod = typeof source === "function" ? await source() : source;
    from = `the adapter registered for ${scheme}:`;
  } else {
    from = BUILT_IN[scheme]!;
    mod = (await importAdapterPackage(from)) as Partial<AdapterModule>;
  }
  if (typeof mod?.fromUrl !== "function") {
    throw new ConfigError(
      `${from} does not export fromUrl(); is it an Omnibus adapter of a matching version?`,
    );
  }
  return mod.fromUrl(url, options);
}

async function importAdapterPackage(pkg: string): Promise<unknown> {
  try {
    return await import(pkg);
  } catch (first) {
    if (!isNotFound(first, pkg)) throw first;
    try {
      const require = createRequire(join(process.cwd(), "package.json"));
      return await import(pathToFileURL(require.resolve(pkg)).href);
    } catch (second) {
      if (!isNotFound(second, pkg)) throw second;
      throw new ConfigError(`this URL needs the adapter package ${pkg}: install it (npm install ${pkg})`, {
        cause: first,
      });
    }
  }
}

/** True if `error` says that `pkg` itself (not one of its own imports) cannot be found. */
function isNotFound(error: unknown, pkg: string): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  const missing =
    code === "ERR_MODULE_NOT_FOUND" ||
    code === "MODULE_NOT_FOUND" ||
    code === "ERR_PACKAGE_PATH_NOT_EXPORTED";
  return (
    missing && typeof message === "string" && (message.includes(`'${pkg}'`) || message.includes(`"${pkg}"`))
  );
}

/**
 * Where a client gets its adapter: the object it was given, or its URL's adapter — built now
 * when the adapter's module is at hand (so that its `fromUrl` checks the URL and options at
 * `createClient`), otherwise at the first connect, once the module is loaded.
 */
export function adapterSourceOf(options: {
  adapter?: Adapter<any>;
  url?: string;
  adapters?: Readonly<Record<string, AdapterSource>>;
  adapterOptions?: Record<string, unknown>;
}): { readonly name: string; readonly load: () => Promise<Adapter> } {
  if (options.adapter) {
    const adapter = options.adapter;
    return { name: adapter.name, load: async () => adapter };
  }
  const url = options.url ?? "memory://";
  const extra = options.adapters ?? {};
  const name = urlScheme(url, extra);
  const now = adapterFromUrlNow(url, options.adapterOptions, extra);
  return { name, load: now ? async () => now : () => adapterFromUrl(url, options.adapterOptions, extra) };
}
