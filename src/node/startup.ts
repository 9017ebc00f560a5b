import type { Logger } from '../core/log/logger.js';

/**
 * One step of a process's start-up: what it starts and how to undo it. A host lists its steps in start order;
 * start-up runs them in that order, and when one fails, stops the steps already started in reverse order before
 * the failure is reported, so nothing a failed start-up opened (a port, a timer, a connection, a file) outlives it.
 * Stopping walks the same list in reverse.
 */
export interface StartStep<Name extends string, How> {
  readonly name: Name;
  start(): void | Promise<void>;
  /** Undoes `start`, once, and only after it succeeded; absent when `start` holds nothing. */
  stop?(how: How): void | Promise<void>;
}

/** A typed test seam: called before each step starts; what it throws fails start-up at that step. */
export interface StartHooks<Name extends string> {
  beforeStep?(name: Name): void | Promise<void>;
}

export interface StartOptions<Name extends string, How> {
  readonly log: Logger;
  /** How the started steps stop when a later one fails. */
  readonly unwind: () => How;
  readonly hooks?: StartHooks<Name>;
}

/** The steps a start-up has started, stopped in reverse order. */
export class StartedSteps<Name extends string, How> {
  private constructor(
    private started: readonly StartStep<Name, How>[],
    private readonly log: Logger,
  ) {}

  /** Starts `steps` in order. If one fails, the steps started before it stop in reverse order, then its error is thrown. */
  static async start<Name extends string, How>(steps: readonly StartStep<Name, How>[], options: StartOptions<Name, How>): Promise<StartedSteps<Name, How>> {
    const started: StartStep<Name, How>[] = [];
    try {
      for (const step of steps) {
        await options.hooks?.beforeStep?.(step.name);
        await step.start();
        started.push(step);
      }
    } catch (err) {
      const failed = steps[started.length]!.name;
      options.log.info('start-up failed; stopping the steps started before it', { step: failed, started: started.map((s) => s.name) });
      const failure = await new StartedSteps(started, options.log).stopAll(options.unwind());
      if (failure !== null) options.log.warn('a start-up step failed to stop', { step: failure.step, err: failure.err });
      throw err;
    }
    return new StartedSteps(started, options.log);
  }

  /**
   * Stops every started step in reverse order, each one even when a step after it failed to stop; the first failure
   * is thrown once all have stopped (the others are logged). Stops once: a second call finds nothing started.
   */
  async stop(how: How): Promise<void> {
    const failure = await this.stopAll(how);
    if (failure !== null) throw failure.err;
  }

  /** Stops the started steps in reverse order; returns the first failure and logs the others. */
  private async stopAll(how: How): Promise<{ readonly step: Name; readonly err: unknown } | null> {
    const steps = this.started;
    this.started = [];
    let failure: { readonly step: Name; readonly err: unknown } | null = null;
    for (let i = steps.length - 1; i >= 0; i--) {
      const step = steps[i]!;
      try {
        await step.stop?.(how);
      } catch (err) {
        if (failure === null) failure = { step: step.name, err };
        else this.log.warn('a start-up step failed to stop', { step: step.name, err });
      }
    }
    return failure;
  }
}
