/**
 * Users whose password is {@link TEST_PASSWORD}, for the leak scan of the conformance case
 * `client/secrets-live` on brokers that check passwords: a RabbitMQ user made with `rabbitmqctl`
 * on the server that answers on loopback (kept for later runs), the Artemis user the broker
 * tool adds to the instances it starts, and the user of the SASL listener of the Kafka it starts.
 * @module
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { TEST_PASSWORD } from "./config.js";
import { probe } from "./probe.js";
import { ARTEMIS_TEST_USER, KAFKA_TEST_USER } from "./servers.js";

const run = promisify(execFile);
const USER = ARTEMIS_TEST_USER; // the same name on both brokers
// The Debian wrapper first: it runs as the rabbitmq user, whose Erlang cookie reaches the node.
const CTL = ["/usr/sbin/rabbitmqctl", "/usr/lib/rabbitmq/bin/rabbitmqctl"];

/** What {@link rabbitmqTestUser} gives: the URL to connect with, and the password to scan for. */
export interface TestCredentials {
  readonly url: string;
  /** Undefined when no user could be made (`reason` says why): the scan is then skipped. */
  readonly password: string | undefined;
  readonly reason?: string;
}

/**
 * `url` with a user whose password is the test password, made (or updated) with `rabbitmqctl` when
 * `url` is a RabbitMQ on loopback with the default guest credentials; any other URL as it is.
 */
export async function rabbitmqTestUser(url: string): Promise<TestCredentials> {
  const parsed = new URL(url);
  if (hasTestPassword(parsed)) return { url, password: TEST_PASSWORD };
  if (!onLoopback(parsed) || (parsed.username || "guest") !== "guest")
    return { url, password: undefined, reason: "not the loopback RabbitMQ with guest credentials" };
  const ctl = CTL.find((path) => existsSync(path));
  if (ctl === undefined) return { url, password: undefined, reason: "rabbitmqctl is not installed" };
  const vhost = decodeURIComponent(parsed.pathname.slice(1)) || "/";
  try {
    await run(ctl, ["-q", "add_user", USER, TEST_PASSWORD], { timeout: 30_000 }).catch(
      async (error: { stderr?: string }) => {
        if (!/already.exists/i.test(String(error.stderr))) throw error;
        await run(ctl, ["-q", "change_password", USER, TEST_PASSWORD], { timeout: 30_000 });
      },
    );
    await run(ctl, ["-q", "set_permissions", "-p", vhost, USER, ".*", ".*", ".*"], { timeout: 30_000 });
  } catch (error) {
    // stderr only: the error's message holds the command line, the password with it.
    const why = String((error as { stderr?: string }).stderr ?? "").trim() || "no output";
    return { url, password: undefined, reason: `rabbitmqctl failed: ${why.slice(0, 200)}` };
  }
  return { url: withTestUser(parsed), password: TEST_PASSWORD };
}

/** Whether the URL already holds the test user's password (the broker tool's default URLs do). */
function hasTestPassword(url: URL): boolean {
  return decodeURIComponent(url.password) === TEST_PASSWORD;
}

function onLoopback(url: URL): boolean {
  return url.hostname === "127.0.0.1" || url.hostname === "localhost";
}

/** The URL with the test user and password in place of its credentials. */
function withTestUser(url: URL): string {
  const copy = new URL(url);
  copy.username = USER;
  copy.password = encodeURIComponent(TEST_PASSWORD);
  return copy.toString();
}

/**
 * `url` with the user `omnibus-test` and the test password when `url` is an Artemis on loopback
 * with the default `artemis` credentials and that user can log in (the broker tool adds it to the
 * instances it starts); any other URL as it is, without a password to scan for.
 */
export async function artemisTestCredentials(url: string): Promise<TestCredentials> {
  const parsed = new URL(url);
  if (hasTestPassword(parsed)) return { url, password: TEST_PASSWORD };
  if (!onLoopback(parsed) || parsed.username !== "artemis")
    return { url, password: undefined, reason: "not the loopback Artemis with the artemis user" };
  const candidate = withTestUser(parsed);
  try {
    await probe("activemq", candidate, 10_000);
  } catch (error) {
    return {
      url,
      password: undefined,
      reason: `${ARTEMIS_TEST_USER} cannot log in: ${String((error as Error).message).replaceAll(TEST_PASSWORD, "***")}`,
    };
  }
  return { url: candidate, password: TEST_PASSWORD };
}

/**
 * `kafka://omnibus-test:<test password>@127.0.0.1:<port + 2>`, the SASL PLAIN listener the broker
 * tool gives the Kafka it starts, when `brokers` is that Kafka's plain `127.0.0.1:<port>` and the
 * user can log in there; `brokers` as it is otherwise, without a password to scan for.
 */
export async function kafkaTestCredentials(brokers: string): Promise<TestCredentials> {
  const m = /^(127\.0\.0\.1|localhost):(\d+)$/.exec(brokers.trim());
  if (!m) return { url: brokers, password: undefined, reason: "not one Kafka on loopback" };
  const candidate = `kafka://${KAFKA_TEST_USER}:${encodeURIComponent(TEST_PASSWORD)}@127.0.0.1:${Number(m[2]) + 2}`;
  try {
    await probe("kafka", candidate, 10_000);
  } catch (error) {
    return {
      url: brokers,
      password: undefined,
      reason: `${KAFKA_TEST_USER} cannot log in on port ${Number(m[2]) + 2}: ${String((error as Error).message).replaceAll(TEST_PASSWORD, "***")}`,
    };
  }
  return { url: candidate, password: TEST_PASSWORD };
}
