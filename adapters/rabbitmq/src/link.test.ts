import { EventEmitter } from "node:events";
import type { ConfirmChannel } from "amqplib";
import { describe, expect, it } from "vitest";
import { Publisher } from "./link.js";

/** The parts of amqplib's ConfirmChannel (0.10 and 2.x) that Publisher uses, with its confirm window. */
class FakeConfirmChannel extends EventEmitter {
  lwm = 1;
  unconfirmed: (((error: unknown) => void) | false | null)[] = [];
  sent: string[] = [];
  pushConfirmCallback(cb: (error: unknown) => void): void {
    this.unconfirmed.push(cb || false);
  }
  sendMessage(fields: { messageId?: string; priority?: number }): boolean {
    // amqplib's encoder: an octet over 255 throws, after the callback was queued.
    if (fields.priority !== undefined && fields.priority > 255) throw new RangeError("out of range");
    this.sent.push(fields.messageId ?? "");
    return true;
  }
  /** The broker's basic.ack of one delivery tag (amqplib's handleConfirm, single). */
  confirm(tag: number): void {
    const cb = this.unconfirmed[tag - this.lwm];
    this.unconfirmed[tag - this.lwm] = null;
    while (this.unconfirmed[0] === null) {
      this.unconfirmed.shift();
      this.lwm++;
    }
    if (cb) cb(null);
  }
}

describe("Publisher", () => {
  it("takes back the confirm callback of a message the encoder refused: later confirms stay aligned", async () => {
    const channel = new FakeConfirmChannel();
    const publisher = new Publisher(channel as unknown as ConfirmChannel);
    const what = () => "test";
    const bad = publisher.publish("", "q", Buffer.alloc(1), { messageId: "bad", priority: 300 }, what);
    await expect(bad.confirmed).rejects.toMatchObject({ code: "OMNIBUS_PUBLISH" });
    expect(channel.unconfirmed).toEqual([]);
    const good = publisher.publish("", "q", Buffer.alloc(1), { messageId: "good" }, what);
    const later = publisher.publish("", "q", Buffer.alloc(1), { messageId: "later" }, what);
    let goodDone = false;
    let laterDone = false;
    void good.confirmed.then(() => (goodDone = true));
    void later.confirmed.then(() => (laterDone = true));
    channel.confirm(1); // the broker's tag 1 is "good": the refused message never reached it
    await Promise.resolve();
    await Promise.resolve();
    expect([goodDone, laterDone]).toEqual([true, false]);
    channel.confirm(2);
    await later.confirmed;
    expect(channel.sent).toEqual(["good", "later"]);
  });
});
