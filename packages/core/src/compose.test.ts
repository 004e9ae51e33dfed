import { expect, it } from "vitest";
import { compose } from "./compose.js";

it("runs steps as an onion and the terminal in the middle", async () => {
  const trace: string[] = [];
  const run = compose<string[]>(
    [
      async (t, next) => {
        t.push("a>");
        await next();
        t.push("<a");
      },
      async (t, next) => {
        t.push("b>");
        await next();
        t.push("<b");
      },
    ],
    async (t) => {
      t.push("handler");
    },
  );
  await run(trace);
  expect(trace).toEqual(["a>", "b>", "handler", "<b", "<a"]);
});

it("rejects a step that calls next() twice", async () => {
  const run = compose<null>(
    [
      async (_c, next) => {
        await next();
        await next();
      },
    ],
    async () => {},
  );
  await expect(run(null)).rejects.toThrow(/multiple times/);
});

it("a step that does not call next() stops the chain", async () => {
  let reached = false;
  await compose<null>([async () => {}], async () => {
    reached = true;
  })(null);
  expect(reached).toBe(false);
});
