/**
 * Ready-made fault harnesses for the conformance options (`restart`, `proxy`): a private broker
 * the suite may restart and kill, and a TCP proxy in front of a broker.
 * @module
 */

import type { ProxyHarness, RestartHarness } from "@omnibus/conformance";
import { tcpProxy } from "@omnibus/conformance";
import type { Adapter } from "@omnibus/core";
import type { BrokerName } from "./config.js";
import { type PrivateOptions, startPrivate } from "./instance.js";
import { freePort } from "./process.js";

/**
 * A `restart` harness on a private instance of `name` (started when the case asks for it,
 * removed after it): `adapterFor(url)` builds an adapter for the instance's URL.
 * @example
 * describeConformance({ …, restart: restartHarness("redis", (url) => redis({ url }), { persistence: true }) });
 */
export function restartHarness(
  name: BrokerName,
  adapterFor: (url: string) => Adapter,
  options: PrivateOptions = {},
): () => Promise<RestartHarness> {
  return async () => {
    const broker = await startPrivate(name, options);
    return {
      adapter: () => adapterFor(broker.url),
      restart: () => broker.restart(),
      kill: async () => {
        await broker.kill();
        await broker.start();
      },
      close: () => broker[Symbol.asyncDispose](),
    };
  };
}

/**
 * A `proxy` harness: a TCP proxy on 127.0.0.1 in front of `target` (`host:port`);
 * `adapterFor(address)` builds an adapter for the proxy's `127.0.0.1:<port>`.
 */
export function proxyHarness(
  target: string,
  adapterFor: (address: string) => Adapter,
): () => Promise<ProxyHarness> {
  const [host, port] = splitHostPort(target);
  return async () => {
    const proxy = await tcpProxy({ target: { host, port } });
    return {
      adapter: () => adapterFor(`127.0.0.1:${proxy.port}`),
      cut: (ms) => proxy.cut(ms),
      close: () => proxy.close(),
    };
  };
}

/**
 * A `proxy` harness for Kafka: clients connect to the address a broker advertises, so the proxy
 * fronts a private broker that advertises the proxy's port.
 */
export function kafkaProxyHarness(adapterFor: (address: string) => Adapter): () => Promise<ProxyHarness> {
  return async () => {
    // The broker's port is known before it starts, so that the readiness probe (which follows
    // the advertised address) already goes through the proxy.
    const port = await freePort();
    const proxy = await tcpProxy({ target: { host: "127.0.0.1", port } });
    let started: Awaited<ReturnType<typeof startPrivate>>;
    try {
      started = await startPrivate("kafka", { port, advertisedPort: proxy.port });
    } catch (error) {
      await proxy.close();
      throw error;
    }
    return {
      adapter: () => adapterFor(`127.0.0.1:${proxy.port}`),
      cut: (ms) => proxy.cut(ms),
      close: async () => {
        await proxy.close();
        await started[Symbol.asyncDispose]();
      },
    };
  };
}

function splitHostPort(address: string): [string, number] {
  const match = /^(?:[a-z][a-z0-9+.-]*:\/\/)?(?:[^@/]*@)?([^:/]+):(\d+)/i.exec(address);
  if (!match) throw new TypeError(`expected host:port or a URL with a port, got ${address}`);
  return [match[1]!, Number(match[2])];
}
