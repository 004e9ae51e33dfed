import type { Msg, MsgHdrs, NatsConnection } from "@nats-io/transport-node";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { hasError, Publisher } from "./publisher.js";

interface Written {
  subject: string;
  reply: string;
  data: Uint8Array;
}

/** Just enough of a connection: records publishes, lets the test answer them. */
function fakeConnection() {
  const written: Written[] = [];
  let deliver: ((msg: Msg) => void) | undefined;
  let closed = false;
  const nc = {
    subscribe: (_subject: string, opts: { callback: (error: Error | null, msg: Msg) => void }) => {
      deliver = (msg) => opts.callback(null, msg);
      return { unsubscribe() {} };
    },
    publish: (subject: string, data: Uint8Array, opts: { reply: string }) => {
      if (closed) throw new Error("closed");
      written.push({ subject, reply: opts.reply, data });
    },
    isClosed: () => closed,
  } as unknown as NatsConnection;
  const pubAck = (reply: string, seq: number) =>
    deliver!({
      subject: reply,
      data: new TextEncoder().encode(JSON.stringify({ stream: "S", seq })),
    } as unknown as Msg);
  return {
    nc,
    written,
    pubAck,
    close: () => {
      closed = true;
    },
  };
}

const body = (s: string) => new TextEncoder().encode(s);
const headers = () => ({}) as MsgHdrs;
const publishers: Publisher[] = [];
const publisher = (nc: NatsConnection, timeoutMs = 10_000) => {
  const p = new Publisher(nc, undefined, timeoutMs, 100);
  publishers.push(p);
  return p;
};
const tick = () => new Promise((resolve) => setImmediate(resolve));

afterEach(() => {
  for (const p of publishers.splice(0)) p.close();
});

describe("Publisher across a reconnect", () => {
  it("publishes again at once, on the new connection, what waited for a PubAck on the old one", async () => {
    const c = fakeConnection();
    const p = publisher(c.nc);
    const done = p.publish("s", ["a", "b", "c"], body, headers);
    expect(c.written.map((w) => new TextDecoder().decode(w.data))).toEqual(["a", "b", "c"]);
    c.pubAck(c.written[0]!.reply, 1); // "a" was acknowledged before the drop
    p.onDisconnect();
    p.onReconnect();
    // "b" and "c" again, with their reply subjects (and so their message ids) unchanged.
    expect(c.written.slice(3).map((w) => [new TextDecoder().decode(w.data), w.reply])).toEqual([
      ["b", c.written[1]!.reply],
      ["c", c.written[2]!.reply],
    ]);
    c.pubAck(c.written[3]!.reply, 2);
    c.pubAck(c.written[4]!.reply, 3);
    expect(await done).toEqual([]);
    expect(p.inFlight).toBe(0);
  });

  it("writes nothing while disconnected; what was sent meanwhile goes out on the reconnect, once", async () => {
    const c = fakeConnection();
    const p = publisher(c.nc);
    p.onDisconnect();
    const done = p.publish("s", ["x", "y"], body, headers);
    await tick();
    expect(c.written).toEqual([]);
    p.onReconnect();
    expect(c.written.map((w) => new TextDecoder().decode(w.data))).toEqual(["x", "y"]);
    // A second reconnect event for the same connection sends nothing again.
    p.onReconnect();
    expect(c.written).toHaveLength(2);
    for (const [i, w] of c.written.entries()) c.pubAck(w.reply, i + 1);
    expect(await done).toEqual([]);
  });

  it("keeps the deadline as the outer bound, outages included", async () => {
    const c = fakeConnection();
    const p = publisher(c.nc, 100);
    const done = p.publish("s", ["late"], body, headers);
    p.onDisconnect();
    const failed = await done;
    expect(failed.map((f) => [f.item, f.error.kind])).toEqual([["late", "timeout"]]);
    p.onReconnect();
    expect(c.written).toHaveLength(1); // timed out: not sent again
  });

  it("honours an explicit deadline earlier than the default one", async () => {
    const c = fakeConnection();
    const p = publisher(c.nc, 10_000);
    const started = Date.now();
    const failed = await p.publish("s", ["r"], body, headers, Date.now() + 50);
    expect(failed.map((f) => f.error.kind)).toEqual(["timeout"]);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("fails what waits when the connection closes for good", async () => {
    const c = fakeConnection();
    const p = publisher(c.nc);
    p.onDisconnect();
    const done = p.publish("s", ["z"], body, headers);
    await tick();
    c.close();
    p.close();
    expect((await done).map((f) => f.error.kind)).toEqual(["closed"]);
  });
});

describe("Publisher with a PubAck lost on a live connection", () => {
  // The sweeper's clock, not the wall clock: fake timers move it, so no test waits for real.
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("writes the publish again, same reply subject, until a PubAck comes; a second PubAck is ignored", async () => {
    const c = fakeConnection();
    const p = new Publisher(c.nc, undefined, 10_000, 100, 1_000);
    publishers.push(p);
    const done = p.publish("s", ["lost"], body, headers);
    expect(c.written).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(900);
    expect(c.written).toHaveLength(1); // not before resendAfterMs
    await vi.advanceTimersByTimeAsync(1_700);
    expect(c.written.length).toBeGreaterThanOrEqual(3);
    expect(new Set(c.written.map((w) => w.reply)).size).toBe(1);
    c.pubAck(c.written[0]!.reply, 1);
    c.pubAck(c.written[0]!.reply, 1);
    expect(await done).toEqual([]);
    expect(p.inFlight).toBe(0);
    const writes = c.written.length;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(c.written.length).toBe(writes); // settled: not written again
  });

  it("does not write again while disconnected (the reconnect does)", async () => {
    const c = fakeConnection();
    const p = new Publisher(c.nc, undefined, 10_000, 100, 1_000);
    publishers.push(p);
    const done = p.publish("s", ["x"], body, headers);
    p.onDisconnect();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(c.written).toHaveLength(1);
    p.onReconnect();
    expect(c.written).toHaveLength(2);
    c.pubAck(c.written[1]!.reply, 1);
    expect(await done).toEqual([]);
  });
});

describe("hasError", () => {
  it("finds a JSON error key in the bytes of a reply, and nothing in a PubAck", () => {
    const te = new TextEncoder();
    expect(hasError(te.encode('{"stream":"S","seq":1}'))).toBe(false);
    expect(hasError(te.encode('{"stream":"S","seq":1,"duplicate":true}'))).toBe(false);
    expect(hasError(te.encode('{"error":{"code":503}}'))).toBe(true);
    expect(hasError(te.encode('{"type":"x","error":{"code":400}}'))).toBe(true);
    expect(hasError(te.encode('""error"'))).toBe(true);
    expect(hasError(te.encode('"error'))).toBe(false);
    expect(hasError(te.encode(""))).toBe(false);
  });
});
