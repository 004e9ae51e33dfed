/**
 * The stand-in broker: a deliberately simple in-process store with a visibility lease (think
 * SQS). All of it is the broker's side; a real adapter replaces this file with the broker's client.
 * @module
 */
import type { OutboundMessage } from "@omnibus/core";

/** A message as the broker keeps it: the envelope plus the broker's own bookkeeping. */
export interface Stored {
  readonly message: OutboundMessage;
  receives: number; // times handed out: the broker's delivery counter, reported as `attempt`
  visibleAt: number; // not handed out before (a delay on send, a lease, a nack delay)
  receipt: number; // of the latest delivery, 0 once released: a settle with another is refused
}

/** One receive: the message and the receipt that settles this delivery of it. */
export type Received = { readonly stored: Stored; readonly receipt: number };

/** Queues are `q/<name>`, topic groups `t/<topic>/<group>`: names cannot hold `/`, so none collide. */
export const queueKey = (name: string): string => `q/${name}`;
export const groupKey = (topic: string, group: string): string => `t/${topic}/${group}`;

export class Store {
  /** The Map of arrays: every queue (and every topic group) is a list in send order. */
  readonly #queues = new Map<string, Stored[]>();
  readonly #groups = new Map<string, Set<string>>(); // topic -> its groups
  #receipts = 0;

  has = (key: string): boolean => this.#queues.has(key);

  /** Create the queue if it is missing (a consumer declares what it reads). */
  declare(key: string): string {
    if (!this.#queues.has(key)) this.#queues.set(key, []);
    return key;
  }

  /** Create a group: from now on it gets a copy of every message published to the topic. */
  declareGroup(topic: string, group: string): string {
    let groups = this.#groups.get(topic);
    if (!groups) this.#groups.set(topic, (groups = new Set()));
    groups.add(group);
    return this.declare(groupKey(topic, group));
  }

  enqueue(key: string, message: OutboundMessage): void {
    this.declare(key);
    const visibleAt = Date.now() + (message.delayMs ?? 0);
    this.#queues.get(key)!.push({ message, receives: 0, visibleAt, receipt: 0 });
  }

  /** A copy for every group of the topic; with no group the message is dropped (not an error). */
  publish(topic: string, message: OutboundMessage): void {
    for (const group of this.#groups.get(topic) ?? []) this.enqueue(groupKey(topic, group), message);
  }

  /** Hand out up to `max` visible messages, oldest first, each hidden for `leaseMs`. */
  receive(key: string, max: number, leaseMs: number): Received[] {
    const now = Date.now();
    const out: Received[] = [];
    for (const stored of this.#queues.get(key) ?? []) {
      if (out.length >= max) break;
      if (stored.visibleAt > now) continue;
      stored.receives++;
      stored.visibleAt = now + leaseMs;
      stored.receipt = ++this.#receipts;
      out.push({ stored, receipt: stored.receipt });
    }
    return out;
  }

  /** Ack: forget the message, if `receipt` is still its latest delivery. */
  delete(key: string, { stored, receipt }: Received): boolean {
    if (stored.receipt !== receipt) return false;
    const list = this.#queues.get(key) ?? [];
    const at = list.indexOf(stored);
    if (at >= 0) list.splice(at, 1);
    return true;
  }

  /**
   * Hide the message for `ms` from now. `keep`: extend this delivery's lease (the receipt stays
   * valid); otherwise release it, to be delivered again after `ms` (the receipt dies).
   */
  changeVisibility({ stored, receipt }: Received, ms: number, keep: boolean): boolean {
    if (stored.receipt !== receipt) return false;
    stored.visibleAt = Date.now() + ms;
    if (!keep) stored.receipt = 0;
    return true;
  }

  deleteQueue = (key: string): boolean => this.#queues.delete(key);

  /** Forget a group and its messages; the topic's other groups keep theirs. */
  deleteGroup(topic: string, group: string): void {
    this.#groups.get(topic)?.delete(group);
    this.#queues.delete(groupKey(topic, group));
  }

  /** Forget a topic with every group of it. */
  deleteTopic(topic: string): void {
    for (const group of this.#groups.get(topic) ?? []) this.#queues.delete(groupKey(topic, group));
    this.#groups.delete(topic);
  }
}

const stores = new Map<string, Store>();
/** The process-wide store `name`: adapters of one name share it, as clients share a broker. */
export const storeNamed = (name: string): Store =>
  stores.get(name) ?? stores.set(name, new Store()).get(name)!;
