import { runStream } from "@omnibus/conformance";
import type { Adapter } from "@omnibus/core";
import { describe, expect, it } from "vitest";
import { memory } from "../src/index.js";

/**
 * `inner` with its `consume` and `send` going through `wrap` (the rest as they are): a broker or
 * a consumer misbehaving on purpose, for the tests below.
 */
function wrapped(inner: Adapter, wrap: Partial<Pick<Adapter, "consume" | "send">>): Adapter {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === "consume" && wrap.consume) return wrap.consume.bind(undefined);
      if (prop === "send" && wrap.send) return wrap.send.bind(undefined);
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

// What the fault cases of the suite (and pnpm chaos) report rests on runStream telling apart a
// broker that lost confirmed messages from consumers that stopped, and a fault that never ran.
describe("runStream's verdicts", () => {
  it("consumers that stop after a fault: the lost ids are found stored by a fresh consumer", async () => {
    const name = "stream-stall";
    let stalled = false;
    const stallers: { stalled: boolean }[] = [];
    const make = (): Adapter => {
      if (stalled) return memory({ name }); // made after the fault (the recount's): works
      const inner = memory({ name });
      const me = { stalled: false };
      stallers.push(me);
      // Deliveries are held unsettled once the fault ran: a consumer that stopped.
      return wrapped(inner, {
        consume: (source, options) =>
          inner.consume(source, {
            ...options,
            onDelivery: (d) => {
              if (!me.stalled) options.onDelivery(d);
            },
          }),
      });
    };
    const report = await runStream({
      adapter: make,
      queue: "stall",
      messages: 200,
      quietMs: 500,
      recountMs: 5_000,
      faults: [
        {
          label: "consumers stop",
          at: 0.5,
          run: async () => {
            stalled = true;
            for (const s of stallers) s.stalled = true;
          },
        },
      ],
    });
    expect(report.lost.length).toBeGreaterThan(0);
    expect(report.hung).toBe(true);
    expect(report.recount).toMatchObject({ found: report.lost.length });
    expect(report.faultErrors).toEqual([]);
  });

  it("a broker that confirms and drops: the lost ids are gone for a fresh consumer too", async () => {
    const name = "stream-drop";
    let dropping = false;
    const make = (): Adapter => {
      const inner = memory({ name });
      return wrapped(inner, {
        send: (address, messages) => (dropping ? Promise.resolve() : inner.send(address, messages)),
      });
    };
    const report = await runStream({
      adapter: make,
      queue: "drop",
      messages: 200,
      quietMs: 500,
      recountMs: 1_000,
      faults: [
        {
          label: "the broker drops what it confirms",
          at: 0.5,
          run: async () => {
            dropping = true;
          },
        },
      ],
    });
    expect(report.lost.length).toBeGreaterThan(0);
    expect(report.recount).toMatchObject({ found: 0 });
  });

  it("a fault that cannot run is reported as the harness's, not counted as the adapter's", async () => {
    const report = await runStream({
      adapter: () => memory({ name: "stream-nofault" }),
      queue: "nofault",
      messages: 50,
      faults: [
        {
          label: "restart",
          at: 0.5,
          run: async () => {
            throw new Error("the server would not start");
          },
        },
      ],
    });
    expect(report.faultErrors).toEqual(["restart: the server would not start"]);
    expect(report.lost).toEqual([]);
  });
});
