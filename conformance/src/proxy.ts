/**
 * An in-process TCP proxy on loopback, to cut a client's connections to a broker without
 * touching the broker: `cut()` drops every connection and refuses new ones until it is restored,
 * `pause()` stops forwarding (a partition that TCP rides out) until it is restored.
 * @module
 */
import { connect, createServer, type Server, type Socket } from "node:net";

/** Options of {@link tcpProxy}. */
export interface TcpProxyOptions {
  /** Where connections go. */
  readonly target: { readonly host: string; readonly port: number };
  /** Port to listen on. @default a free one */
  readonly port?: number;
}

/** A running proxy. */
export interface TcpProxy {
  /** The port clients connect to (127.0.0.1). */
  readonly port: number;
  /** Connections open now. */
  readonly connections: number;
  /** Connections accepted since the start. */
  readonly accepted: number;
  /**
   * Drop every connection (both sides see a reset) and refuse new ones — for `ms`, then restore;
   * or until {@link TcpProxy.restore} when `ms` is omitted. Resolves once the cut began (with `ms`:
   * once it is over).
   */
  cut(ms?: number): Promise<void>;
  /** Stop forwarding in both directions without closing anything (for `ms`, or until restore). */
  pause(ms?: number): Promise<void>;
  /** Accept and forward again. */
  restore(): Promise<void>;
  /** Close the listener and every connection. */
  close(): Promise<void>;
  /** {@link TcpProxy.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Start a TCP proxy to `options.target` on 127.0.0.1. */
export async function tcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let state: "open" | "cut" | "paused" = "open";
  let accepted = 0;
  let server: Server | undefined;
  let port = options.port ?? 0;

  // Unpiped and paused: nothing is read, so TCP's own flow control holds the peers' writes.
  const hold = ({ client, upstream }: { client: Socket; upstream: Socket }) => {
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  };
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer({ noDelay: true }, (client) => {
        accepted++;
        if (state === "cut") {
          client.destroy();
          return;
        }
        const upstream = connect({ host: options.target.host, port: options.target.port, noDelay: true });
        const pair = { client, upstream };
        pairs.add(pair);
        client.pipe(upstream);
        upstream.pipe(client);
        if (state === "paused") hold(pair);
        const end = () => {
          pairs.delete(pair);
          client.destroy();
          upstream.destroy();
        };
        client.on("error", end);
        upstream.on("error", end);
        client.on("close", end);
        upstream.on("close", end);
      });
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as { port: number }).port;
        server = s;
        resolve();
      });
    });
  const stopListening = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = undefined;
      if (!s) return resolve();
      s.close(() => resolve());
    });

  await listen();
  const timed = async (ms: number | undefined, begin: () => Promise<void>) => {
    await begin();
    if (ms !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, ms));
      await proxy.restore();
    }
  };
  const proxy: TcpProxy = {
    get port() {
      return port;
    },
    get connections() {
      return pairs.size;
    },
    get accepted() {
      return accepted;
    },
    cut: (ms) =>
      timed(ms, async () => {
        state = "cut";
        // Refuse new connections (ECONNREFUSED) and reset the open ones (the server's close
        // completes once they are gone).
        const closed = stopListening();
        for (const { client, upstream } of [...pairs]) {
          client.resetAndDestroy();
          upstream.resetAndDestroy();
        }
        pairs.clear();
        await closed;
      }),
    pause: (ms) =>
      timed(ms, async () => {
        state = "paused";
        for (const pair of pairs) hold(pair);
      }),
    async restore() {
      const was = state;
      state = "open";
      if (was === "paused") {
        for (const { client, upstream } of pairs) {
          client.pipe(upstream);
          upstream.pipe(client);
        }
      }
      if (!server) await listen();
    },
    async close() {
      state = "cut";
      const closed = stopListening();
      for (const { client, upstream } of [...pairs]) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      await closed;
    },
    [Symbol.asyncDispose]() {
      return proxy.close();
    },
  };
  return proxy;
}
