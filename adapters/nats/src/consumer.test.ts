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
