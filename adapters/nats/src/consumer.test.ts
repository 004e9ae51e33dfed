import { describe, expect, it } from "vitest";
import { parseAckSubject } from "./consumer.js";

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
