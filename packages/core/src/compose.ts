/** A step of an onion: do something, call `next()` at most once, do something after. */
export type Step<C> = (ctx: C, next: () => Promise<void>) => Promise<void> | void;

/**
 * Compose steps koa-style into one function. Calling `next()` twice in one step rejects, as does
 * calling it after the step returned.
 */
export function compose<C>(
  steps: readonly Step<C>[],
  terminal: (ctx: C) => Promise<void>,
): (ctx: C) => Promise<void> {
  if (steps.length === 0) return terminal;
  return (ctx: C) => {
    let index = -1;
    const dispatch = async (i: number): Promise<void> => {
      if (i <= index) throw new Error("next() called multiple times in one middleware");
      index = i;
      if (i === steps.length) return terminal(ctx);
      await steps[i]!(ctx, () => dispatch(i + 1));
    };
    return dispatch(0);
  };
}
