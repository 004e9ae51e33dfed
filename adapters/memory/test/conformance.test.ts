import { describeConformance } from "@omnibus/conformance";
import { memory } from "../src/index.js";

describeConformance({
  name: "memory",
  adapter: () => memory({ name: "conformance" }),
  unreachable: undefined,
});
