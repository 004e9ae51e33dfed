import { expect, test } from "vitest";
import { ConfigError, OmnibusError } from "@omnibus/core";
test("resolves", () => { expect(new ConfigError("x")).toBeInstanceOf(OmnibusError); });
