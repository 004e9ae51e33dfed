import { uuidv7 } from "@omnibus/core";
import type { OutboundMessage } from "@omnibus/core/adapter";
import rhea, { type Message } from "rhea";
import { describe, expect, it } from "vitest";
import { bodyBytes, DELIVERY_DELAY, fromAmqp, toAmqp, WireProperty } from "./wire.js";

const base: OutboundMessage = {
  id: "m-1",
  body: new Uint8Array([0, 1, 2, 255]),
  headers: { "Trace-Id": "é ✓", empty: "", "omnibus-content-type": "application/json" },
  timestamp: 1_700_000_000_123,
};

/** Through the real AMQP 1.0 encoder and decoder, as the broker would hand it back. */
function roundTrip(message: Message): Message {
  return rhea.message.decode(rhea.message.encode(message)) as unknown as Message;
}

describe("AMQP 1.0 wire mapping", () => {
  it("leaves creation-time out when the id is a UUID v7 of the timestamp's millisecond", () => {
    const id = uuidv7(1_700_000_000_123);
    const same = toAmqp({ ...base, id, headers: {} });
    expect(same.creation_time).toBeUndefined();
    expect(same.application_properties).toBeUndefined(); // no headers: no empty section either
    expect(fromAmqp(roundTrip(same)).timestamp).toBe(1_700_000_000_123);
    // A dead-lettered or forwarded message keeps an older id: its own timestamp travels.
    const other = toAmqp({ ...base, id, timestamp: 1_700_000_000_124 });
    expect((other.creation_time as Date).getTime()).toBe(1_700_000_000_124);
    expect(fromAmqp(roundTrip(other)).timestamp).toBe(1_700_000_000_124);
  });

  it("round-trips every field through the encoder", () => {
    const out: OutboundMessage = {
      ...base,
      key: "customer-7",
      correlationId: "c-1",
      replyTo: "omnibus.inbox.abc",
      priority: 7,
    };
    const amqp = toAmqp(out);
    expect(amqp.durable).toBe(true);
    expect(amqp.group_id).toBe("customer-7");
    expect(amqp.priority).toBe(7);
    const back = fromAmqp(roundTrip(amqp));
    expect(back.id).toBe("m-1");
    expect([...back.body]).toEqual([0, 1, 2, 255]);
    expect(back.headers).toEqual(base.headers);
    expect(back.key).toBe("customer-7");
    expect(back.correlationId).toBe("c-1");
    expect(back.replyTo).toBe("omnibus.inbox.abc");
    expect(back.timestamp).toBe(1_700_000_000_123);
    expect(back.attempt).toBe(1);
  });

  it("keeps an empty body empty and leaves out what was not set", () => {
    const back = fromAmqp(roundTrip(toAmqp({ ...base, body: new Uint8Array(0), headers: {} })));
    expect(back.body.byteLength).toBe(0);
    expect(back.headers).toEqual({});
    expect(back.key).toBeUndefined();
    expect(back.correlationId).toBeUndefined();
    expect(back.replyTo).toBeUndefined();
  });

  it("escapes header names the broker would read as its own, and brings them back unchanged", () => {
    const headers = {
      _AMQ_DUPL_ID: "x",
      JMSXGroupID: "g",
      "x-omnibus-attempt": "9",
      "x-opt-delivery-delay": "5",
    };
    const amqp = toAmqp({ ...base, headers });
    for (const name of Object.keys(headers)) expect(amqp.application_properties).not.toHaveProperty(name);
    expect(fromAmqp(roundTrip(amqp)).headers).toEqual(headers);
    expect(fromAmqp(roundTrip(amqp)).attempt).toBe(1);
  });

  it("puts a delay in the delivery-delay annotation", () => {
    expect(toAmqp({ ...base, delayMs: 1500 }).message_annotations).toEqual({ [DELIVERY_DELAY]: 1500 });
    expect(toAmqp({ ...base, delayMs: 0 }).message_annotations).toBeUndefined();
    expect(toAmqp(base).message_annotations).toBeUndefined();
  });

  it("counts attempts from the delivery count and a redelivered copy's first attempt", () => {
    const redelivered = roundTrip({ ...toAmqp(base), delivery_count: 2 });
    expect(fromAmqp(redelivered).attempt).toBe(3);
    const copy = toAmqp(base, 4);
    expect(copy.application_properties?.[WireProperty.Attempt]).toBe("4");
    expect(fromAmqp(roundTrip({ ...copy, delivery_count: 1 })).attempt).toBe(5);
    expect(fromAmqp(roundTrip(copy)).headers).not.toHaveProperty(WireProperty.Attempt);
  });

  it("reads bodies of other AMQP clients: amqp-value strings and maps, numeric ids, other property types", () => {
    expect(Buffer.from(bodyBytes("héllo")).toString()).toBe("héllo");
    const back = fromAmqp(
      roundTrip({
        message_id: 42,
        body: { a: 1 },
        application_properties: { n: 3, yes: true, JMSXDeliveryCount: 2 },
      }),
    );
    expect(back.id).toBe("42");
    expect(JSON.parse(Buffer.from(back.body).toString())).toEqual({ a: 1 });
    expect(back.headers).toEqual({ n: "3", yes: "true" });
  });

  it("does not keep the sender's buffer: the encoded message has the bytes of send time", () => {
    const body = new Uint8Array([1, 2, 3]);
    const encoded = rhea.message.encode(toAmqp({ ...base, body }));
    body[0] = 9;
    expect([...fromAmqp(rhea.message.decode(encoded) as unknown as Message).body]).toEqual([1, 2, 3]);
  });
});
