/**
 * CPU time and memory of the bench's process over one measured window. Every run of every side
 * shares this one process (drivers are connected once per broker), so a run's CPU is the delta
 * of `process.cpuUsage()` around its measured window, and its peak RSS is sampled during it.
 * @module
 */

/** What a run cost the client process. */
export interface RunResources {
  /** User CPU over the measured window, µs. */
  readonly userUs: number;
  /** System CPU over the measured window, µs. */
  readonly sysUs: number;
  /** Messages (or requests) the window handled: the divisor of the per-message figure. */
  readonly messages: number;
  /** (user + sys) / messages, µs. */
  readonly cpuUsPerMsg: number;
  /** Highest resident set size seen during the window (sampled every 20 ms, and at its ends), MiB. */
  readonly peakRssMB: number;
  /**
   * `process.resourceUsage().maxRSS` at the end of the window, MiB: the process's high-water
   * mark since it started (every earlier run included), so it only grows from run to run.
   */
  readonly maxRssMB: number;
}

const MB = 2 ** 20;
const SAMPLE_MS = 20;

/** Start measuring; `stop(messages)` ends the window. */
export function measureResources(): { stop(messages: number): RunResources } {
  const cpu = process.cpuUsage();
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  }, SAMPLE_MS);
  timer.unref();
  return {
    stop(messages: number): RunResources {
      const used = process.cpuUsage(cpu);
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      const maxRss = process.resourceUsage().maxRSS * 1024; // KiB on every platform Node supports
      return {
        userUs: used.user,
        sysUs: used.system,
        messages,
        cpuUsPerMsg: messages > 0 ? (used.user + used.system) / messages : Number.NaN,
        peakRssMB: peak / MB,
        maxRssMB: maxRss / MB,
      };
    },
  };
}
