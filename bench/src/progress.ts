/**
 * Progress: on a TTY one line per run, rewritten in place while it runs and left with its
 * result; elsewhere (CI, pipes) one plain line per run when it ends.
 */
export class ProgressDisplay {
  readonly #tty: boolean;
  #label = "";
  #lastDraw = 0;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
    private readonly quiet = false,
  ) {
    this.#tty = out.isTTY === true;
  }

  start(label: string): void {
    this.#label = label;
    this.#lastDraw = 0;
    if (this.#tty && !this.quiet) this.out.write(`\r\x1b[K${label} …`);
  }

  update(done: number, total: number): void {
    if (!this.#tty || this.quiet) return;
    const now = performance.now();
    if (now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const pct = total > 0 ? Math.floor((done / total) * 100) : 0;
    this.out.write(`\r\x1b[K${this.#label} ${done}/${total} (${pct}%)`);
  }

  end(result: string): void {
    if (this.quiet) return;
    this.out.write(this.#tty ? `\r\x1b[K${this.#label} ${result}\n` : `${this.#label} ${result}\n`);
  }

  note(line: string): void {
    if (!this.quiet) this.out.write(`${line}\n`);
  }
}
