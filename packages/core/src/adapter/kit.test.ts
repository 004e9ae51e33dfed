import { describe, expect, it } from "vitest";
import { ErrorCode } from "../errors.js";
import type { InboundMessage } from "../spi.js";
import { GroupCommit } from "./batch.js";
import { settleOnce } from "./delivery.js";
import { backoff, delay, Semaphore } from "./flow.js";
import { nameMapper } from "./names.js";
import { OnceByKey, once } from "./once.js";
import { defineOptions, option } from "./options.js";
import { parseBrokerUrl } from "./url.js";

const message: InboundMessage = {
  id: "1",
  body: new Uint8Array(),
  headers: {},
  timestamp: 0,
  attempt: 1,
  native: undefined,
};

describe("settleOnce", () => {
  it("settles once: a double ack, a nack after an ack, and a stale delivery do nothing", async () => {
    const calls: string[] = [];
    const d = settleOnce(message, {
      ack: async () => void calls.push("ack"),
      nack: async () => void calls.push("nack"),
    });
    await d.ack();
    await d.ack();
    await d.nack();
    expect(calls).toEqual(["ack"]);
    expect(d.settled).toBe(true);
    let gone = true;
    const s = settleOnce(message, {
      ack: async () => void calls.push("late"),
      nack: async () => {},
      stale: () => gone,
    });
    expect(s.stale).toBe(true);
    await s.ack();
    expect(calls).toEqual(["ack"]);
    gone = false;
  });
});

describe("once and OnceByKey", () => {
  it("share a pending promise and forget a rejection", async () => {
    let n = 0;
    const connect = once(async () => {
      n++;
      if (n === 1) throw new Error("first fails");
      return n;
    });
    await expect(Promise.all([connect(), connect()])).rejects.toThrow("first fails");
    expect(await connect()).toBe(2);
    expect(await connect()).toBe(2);
    const cache = new OnceByKey<string, number>();
    let made = 0;
    const make = async () => {
      made++;
      if (made === 1) throw new Error("no");
      return made;
    };
    await expect(cache.get("q", make)).rejects.toThrow("no");
    expect(await cache.get("q", make)).toBe(2);
    expect(await cache.get("q", make)).toBe(2);
  });
});

describe("Semaphore, delay, backoff", () => {
  it("holds at most n at once, in order", async () => {
    const s = new Semaphore(2);
    let running = 0;
    let max = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        s.run(async () => {
          max = Math.max(max, ++running);
          await delay(5);
          running--;
        }),
      ),
    );
    expect(max).toBe(2);
    expect(s.free).toBe(2);
  });
  it("delay rejects when aborted; backoff grows to its cap", async () => {
    const ac = new AbortController();
    const p = delay(10_000, ac.signal);
    ac.abort(new Error("stop"));
    await expect(p).rejects.toThrow("stop");
    const it = backoff({ initialMs: 100, maxMs: 400, jitter: 0 });
    expect([it.next().value, it.next().value, it.next().value, it.next().value]).toEqual([
      100, 200, 400, 400,
    ]);
  });
});

describe("GroupCommit", () => {
  it("writes one batch at a time per key, gathering what arrives meanwhile", async () => {
    const writes: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const gc = new GroupCommit<string, number>({
      maxItems: 3,
      write: async (_key, items) => {
        writes.push([...items]);
        if (writes.length === 1) await gate;
      },
    });
    const first = gc.add("a", [1]);
    const rest = [gc.add("a", [2, 3]), gc.add("a", [4, 5])];
    release();
    await Promise.all([first, ...rest]);
    expect(writes).toEqual([[1], [2, 3, 4], [5]]);
  });
});

describe("defineOptions", () => {
  const set = defineOptions("test", {
    prefetch: option.int({ default: 10, min: 1, max: 100 }),
    tls: option.bool({ default: false }),
    mode: option.oneOf(["a", "b"], { default: "a" }),
    client: option.value<object | undefined>({ default: undefined }),
  });
  it("options win over the URL, the URL over defaults", () => {
    const { values } = set.resolve({ prefetch: 5 }, new URLSearchParams("prefetch=7&tls=1&mode=b"));
    expect(values).toEqual({ prefetch: 5, tls: true, mode: "b", client: undefined });
  });
  it("one wording for bad values; unknown parameters refused or passed through", () => {
    expect(() => set.resolve({}, new URLSearchParams("prefetch=abc"))).toThrowError(
      expect.objectContaining({
        code: ErrorCode.Config,
        message: 'test: URL parameter prefetch must be an integer within 1..100, got "abc"',
      }),
    );
    expect(() => set.resolve({ prefetch: 0 })).toThrowError(
      /test: option prefetch must be an integer within 1\.\.100, got 0/,
    );
    expect(() => set.resolve({}, new URLSearchParams("client=x"))).toThrowError(
      /unknown URL parameter "client"/,
    );
    expect(() => set.resolve({ nope: 1 })).toThrowError(/unknown option "nope"/);
    expect(set.resolve({}, new URLSearchParams("heartbeat=5"), { passThrough: true }).rest).toEqual({
      heartbeat: "5",
    });
  });
});

describe("parseBrokerUrl", () => {
  const o = { schemes: ["amqp", "amqps"], defaultPort: 5672, adapter: "x", multiHost: true };
  it("reads credentials, hosts, IPv6, path and query", () => {
    const u = parseBrokerUrl("amqp://us%40er:p%40ss@h1:1,[::1]:2/v%2Fhost?heartbeat=5", o);
    expect(u).toMatchObject({ scheme: "amqp", username: "us@er", password: "p@ss", path: "v/host" });
    expect(u.hosts).toEqual([
      { host: "h1", port: 1 },
      { host: "::1", port: 2 },
    ]);
    expect(u.params.get("heartbeat")).toBe("5");
    expect(parseBrokerUrl("amqp://", o).hosts).toEqual([{ host: "127.0.0.1", port: 5672 }]);
  });
  it("fails with ConfigError and never shows the password", () => {
    for (const bad of [
      "amqp://u:SECRET@h:99999",
      "amqp://u:SECRET@h:1?%zz",
      "ftp://u:SECRET@h",
      "amqp://u:SECRET@[bad",
    ]) {
      expect(() => parseBrokerUrl(bad, o)).toThrowError(
        expect.objectContaining({ code: ErrorCode.Config, message: expect.not.stringContaining("SECRET") }),
      );
    }
  });
});

describe("nameMapper", () => {
  const map = nameMapper({ allowed: /[A-Za-z0-9-]/, escape: "-", maxLength: 80 });
  it("keeps allowed characters, escapes the rest, hashes long names, never mapping two names to one", () => {
    expect(map("orders")).toBe("orders");
    expect(map("a.b")).toBe("a-2eb");
    expect(map("a-b")).toBe("a-2db");
    const names = new Set<string>();
    const outs = new Set<string>();
    const chars = "ab.-_";
    for (let i = 0; i < 3000; i++) {
      let n = "";
      const len = 1 + (i % 90);
      for (let j = 0; j < len; j++) n += chars[(i * 7 + j * 13 + (i >> 3)) % chars.length];
      if (names.has(n)) continue;
      names.add(n);
      const out = map(n);
      expect(out.length).toBeLessThanOrEqual(80);
      expect(/^[A-Za-z0-9-]+$/.test(out)).toBe(true);
      expect(outs.has(out), n).toBe(false);
      outs.add(out);
    }
    const long = "x".repeat(200);
    expect(map(long)).toMatch(/-h[0-9a-f]{24}$/);
    expect(map(long)).not.toBe(map(`${long.slice(0, -1)}y`));
  });
});
