import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError, maskUrl } from "./errors.js";
import type { Adapter, AdapterFactoryFromUrl } from "./spi.js";

/** URL scheme -> adapter package. */
export const adapterPackages: Readonly<Record<string, string>> = Object.freeze({
  memory: "@omnibus/memory",
  amqp: "@omnibus/rabbitmq",
  amqps: "@omnibus/rabbitmq",
  kafka: "@omnibus/kafka",
  sqs: "@omnibus/sqs",
  nats: "@omnibus/nats",
  redis: "@omnibus/redis",
  rediss: "@omnibus/redis",
});

/** The scheme of a broker URL, lower-cased; `ConfigError` when there is none. */
export function urlScheme(url: string): string {
  if (typeof url !== "string") throw new ConfigError(`broker URL must be a string, got ${typeof url}`);
  const match = /^([a-z][a-z0-9+.-]*):/i.exec(url.trim());
  if (!match) throw new ConfigError(`invalid broker URL ${JSON.stringify(maskUrl(url))}: no scheme`);
  const scheme = match[1]!.toLowerCase();
  if (!(scheme in adapterPackages)) {
    throw new ConfigError(
      `unknown broker URL scheme "${scheme}:" in ${JSON.stringify(maskUrl(url))}; ` +
        `known: ${Object.keys(adapterPackages).join(", ")} (or pass an adapter object)`,
    );
  }
  return scheme;
}

/**
 * Build the adapter for a URL by importing its package dynamically. The package is looked up
 * from core's own location first, then from the application's working directory.
 */
export async function adapterFromUrl(url: string, options?: Record<string, unknown>): Promise<Adapter> {
  const pkg = adapterPackages[urlScheme(url)]!;
  const mod = (await importAdapterPackage(pkg)) as { fromUrl?: AdapterFactoryFromUrl };
  if (typeof mod.fromUrl !== "function") {
    throw new ConfigError(
      `${pkg} does not export fromUrl(); is it an Omnibus adapter of a matching version?`,
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
