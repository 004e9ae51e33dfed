/**
 * One broker-URL parser for every adapter: `scheme://[user[:password]@]host[:port][,host[:port]…][/path][?query]`,
 * IPv6 in brackets, percent-encoded credentials; every error a `ConfigError` with the password
 * masked.
 * @module
 */
import { ConfigError, redact } from "../errors.js";

/** A parsed broker URL. */
export interface BrokerUrl {
  readonly scheme: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly hosts: readonly { readonly host: string; readonly port: number }[];
  /** The path without its leading `/`, decoded ("" when none). */
  readonly path: string;
  readonly params: URLSearchParams;
}

/** Options of {@link parseBrokerUrl}. */
export interface ParseBrokerUrlOptions {
  /** Schemes accepted, without `:`. */
  readonly schemes: readonly string[];
  /** Port of a host given without one. */
  readonly defaultPort: number;
  /** Host when the URL names none (`redis://`). @default "127.0.0.1" */
  readonly defaultHost?: string;
  /** Accept `h1:1,h2:2`. @default false */
  readonly multiHost?: boolean;
  /** Names the adapter in errors. */
  readonly adapter: string;
}

/** Parse a broker URL (throws `ConfigError`; the URL in the message has its password masked). */
export function parseBrokerUrl(url: string, o: ParseBrokerUrlOptions): BrokerUrl {
  const bad = (why: string): never => {
    throw new ConfigError(`${o.adapter}: invalid URL ${JSON.stringify(redact(String(url)))}: ${why}`);
  };
  if (typeof url !== "string") bad("not a string");
  const match = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(\/[^?#]*)?(\?[^#]*)?(#.*)?$/i.exec(url.trim());
  if (!match) return bad("expected scheme://host[:port]");
  const scheme = match[1]!.toLowerCase();
  if (!o.schemes.includes(scheme)) bad(`the scheme must be ${o.schemes.map((s) => `${s}:`).join(" or ")}`);
  let authority = match[2]!;
  let username: string | undefined;
  let password: string | undefined;
  const at = authority.lastIndexOf("@");
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    authority = authority.slice(at + 1);
    const colon = userinfo.indexOf(":");
    try {
      username = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
      password = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1));
    } catch {
      bad("malformed %-escape in the credentials");
    }
    if (username === "") username = undefined;
  }
  const parts = authority === "" ? [] : authority.split(",");
  if (parts.length > 1 && !o.multiHost) bad("one host only");
  const hosts = parts.map((part) => {
    const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d*))?$/i.exec(part);
    if (!m) return bad(`bad host ${JSON.stringify(part)}`);
    const port = m[2] === undefined || m[2] === "" ? o.defaultPort : Number(m[2]);
    if (!Number.isInteger(port) || port < 1 || port > 65535) bad(`port ${m[2]} is not within 1..65535`);
    return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
  });
  if (hosts.length === 0) hosts.push({ host: o.defaultHost ?? "127.0.0.1", port: o.defaultPort });
  let path = "";
  try {
    path = decodeURIComponent((match[3] ?? "").replace(/^\//, ""));
  } catch {
    bad("malformed %-escape in the path");
  }
  let params: URLSearchParams;
  try {
    params = new URLSearchParams((match[4] ?? "").slice(1));
    for (const [k] of params) decodeURIComponent(k);
  } catch {
    return bad("malformed query");
  }
  return { scheme, username, password, hosts, path, params };
}
