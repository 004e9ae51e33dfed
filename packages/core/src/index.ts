export { ErrorCode, OmnibusError, ConfigError } from "./errors.js";
