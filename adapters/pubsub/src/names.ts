/**
 * Omnibus names (`[A-Za-z0-9._-]`, up to 200 characters, validated by core) onto Pub/Sub
 * resource ids (3-255 characters of `[A-Za-z0-9._~+%-]`, starting with a letter, not `goog`):
 *
 * - queue `q` → topic and subscription `omnibus.q.<q>` (one shared subscription: competing consumers);
 * - topic `t` → topic `omnibus.t.<t>`; its group `g` → subscription `omnibus.g.<t>+<g>`.
 *
 * Each part goes through the kit's injective `nameMapper` with `~` as escape (Omnibus names never
 * hold `~` or `+`, so they stay as they are up to the length limits), and `+` never occurs in a
 * mapped part: `(a.b, c)` and `(a, b.c)` stay apart. Ids differ by their `q`/`t`/`g` token, so a
 * queue and a topic of one name never share a resource.
 * @module
 */
import { nameMapper } from "@omnibus/core/adapter";

const ALLOWED = /[A-Za-z0-9._~-]/;
/** A queue or topic: 10 characters of prefix + 240 ≤ 255. */
const whole = nameMapper({ allowed: ALLOWED, escape: "~", maxLength: 240 });
/** Each half of a group subscription: 10 + 120 + 1 + 120 ≤ 255. */
const half = nameMapper({ allowed: ALLOWED, escape: "~", maxLength: 120 });

/** Topic and subscription id of queue `name`. */
export function queueIds(name: string): { topic: string; subscription: string } {
  const id = `omnibus.q.${whole(name)}`;
  return { topic: id, subscription: id };
}

/** Topic id of topic `name`. */
export function topicId(name: string): string {
  return `omnibus.t.${whole(name)}`;
}

/** Subscription id of group `group` of topic `topic`. */
export function groupSubscriptionId(topic: string, group: string): string {
  return `omnibus.g.${half(topic)}+${half(group)}`;
}
