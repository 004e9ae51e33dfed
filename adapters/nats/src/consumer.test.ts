import { describe, expect, it } from "vitest";
import { HEARTBEAT_MS, parseAckSubject, resetRetryDelay } from "./consumer.js";

describe("parseAckSubject", () => {
  it("reads the 2.9 form", () => {
    expect(parseAckSubject("$JS.ACK.OMNIBUS_Q_x.omnibus.3.17.20.1795438888425047719.2")).toEqual({
      stream: "OMNIBUS_Q_x",
      deliveryCount: 3,
      streamSequence: 17,
      timestampMs: 1795438888425,
    });
  });

  it("reads the domain-qualified form", () => {
    expect(parseAckSubject("$JS.ACK.hub.ACCHASH.S.c.1.5.5.1795438888425047719.0.token")).toMatchObject({
      stream: "S",
      deliveryCount: 1,
      streamSequence: 5,
    });
  });

  it("refuses anything else", () => {
    expect(parseAckSubject("_INBOX.abc")).toBeUndefined();
    expect(parseAckSubject("$JS.ACK.S.c.x.1.1.1.1")).toBeUndefined();
  });
});

describe("recovery timing", () => {
  it("a failed consumer check is retried after 250 ms doubling to at most 1 s (was 5 s)", () => {
    const waits: number[] = [];
    let wait = 0;
    for (let i = 0; i < 6; i++) waits.push((wait = resetRetryDelay(wait)));
    expect(waits).toEqual([250, 500, 1000, 1000, 1000, 1000]);
  });

  it("pull requests ask for a heartbeat every second, so a lost one is noticed within seconds", () => {
    expect(HEARTBEAT_MS).toBeLessThanOrEqual(1_000);
  });
});

describe("parseAckSubject, token by token", () => {
  it("agrees with splitting on dots", () => {
    const split = (reply: string) => {
      const t = reply.split(".");
      if (t[0] !== "$JS" || t[1] !== "ACK") return undefined;
      const o = t.length === 9 ? 2 : t.length >= 12 ? 4 : -1;
      if (o < 0) return undefined;
      const deliveryCount = Number(t[o + 2]);
      if (!Number.isInteger(deliveryCount)) return undefined;
      return {
        stream: t[o]!,
        deliveryCount,
        streamSequence: Number(t[o + 3]),
        timestampMs: Math.floor(Number(t[o + 5]) / 1e6),
      };
    };
    const cases = [
      "$JS.ACK.S.c.1.2.3.1795438888425047719.0",
      "$JS.ACK.hub.ACC.S.c.7.5.5.1795438888425047719.0.tok",
      "$JS.ACK.hub.ACC.S.c.7.5.5.1795438888425047719.0.tok.more",
      "$JS.ACK.S.c.x.1.1.1.1",
      "$JS.ACK.S.c.1.2.3.4",
      "$JS.ACK.S.c.1.2.3.4.5.6",
      "$JS.ACK..c.1.2.3.4.5",
      "$JS.ACK",
      "$JS.ACK.",
      "$JS.NAK.S.c.1.2.3.4.5",
      `$JS.ACK${".x".repeat(20)}`,
      `$JS.ACK.hub.ACC.S.c.7.5.5.1795438888425047719.0${".tok".repeat(20)}`,
    ];
    for (const c of cases) expect([c, parseAckSubject(c)]).toEqual([c, split(c)]);
  });
});
