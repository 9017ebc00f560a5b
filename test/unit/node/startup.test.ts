import { describe, expect, it } from 'vitest';
import { createLogger, type LogRecord } from '../../../src/core/log/logger.js';
import { type StartStep, StartedSteps } from '../../../src/node/startup.js';

function recorder() {
  const events: string[] = [];
  const logs: LogRecord[] = [];
  const log = createLogger({ write: (r) => logs.push(r) }, 'debug');
  const step = (name: string, options: { failStart?: boolean; failStop?: boolean; noStop?: boolean } = {}): StartStep<string, string> => ({
    name,
    start: async () => {
      events.push(`start ${name}`);
      if (options.failStart) throw new Error(`${name} failed to start`);
    },
    ...(options.noStop
      ? {}
      : {
          stop: async (how: string) => {
            events.push(`stop ${name} ${how}`);
            if (options.failStop) throw new Error(`${name} failed to stop`);
          },
        }),
  });
  return { events, logs, log, step };
}

describe('StartedSteps', () => {
  it('starts in order and stops in reverse, each once', async () => {
    const r = recorder();
    const steps = await StartedSteps.start([r.step('a'), r.step('b', { noStop: true }), r.step('c')], { log: r.log, unwind: () => 'unwind' });
    await steps.stop('graceful');
    await steps.stop('graceful');
    expect(r.events).toEqual(['start a', 'start b', 'start c', 'stop c graceful', 'stop a graceful']);
  });

  it('a failing step stops the ones started before it, in reverse, then throws its error', async () => {
    const r = recorder();
    const start = StartedSteps.start([r.step('a'), r.step('b'), r.step('c', { failStart: true }), r.step('d')], { log: r.log, unwind: () => 'fast' });
    await expect(start).rejects.toThrow('c failed to start');
    expect(r.events).toEqual(['start a', 'start b', 'start c', 'stop b fast', 'stop a fast']);
    expect(r.logs.find((l) => l.msg.startsWith('start-up failed'))).toMatchObject({ step: 'c', started: ['a', 'b'] });
  });

  it('the typed hook fails start-up before the step it names', async () => {
    const r = recorder();
    const start = StartedSteps.start([r.step('a'), r.step('b')], {
      log: r.log,
      unwind: () => 'fast',
      hooks: {
        beforeStep: (name) => {
          if (name === 'b') throw new Error('injected');
        },
      },
    });
    await expect(start).rejects.toThrow('injected');
    expect(r.events).toEqual(['start a', 'stop a fast']);
  });

  it('a step that fails to stop does not keep the others running: all stop, the first failure is thrown', async () => {
    const r = recorder();
    const steps = await StartedSteps.start([r.step('a', { failStop: true }), r.step('b'), r.step('c', { failStop: true })], { log: r.log, unwind: () => 'x' });
    await expect(steps.stop('graceful')).rejects.toThrow('c failed to stop');
    expect(r.events.slice(3)).toEqual(['stop c graceful', 'stop b graceful', 'stop a graceful']);
    expect(r.logs.find((l) => l.msg === 'a start-up step failed to stop')).toMatchObject({ step: 'a' });
  });

  it('unwinding goes on past a step that fails to stop, and the start-up error is the one thrown', async () => {
    const r = recorder();
    const start = StartedSteps.start([r.step('a'), r.step('b', { failStop: true }), r.step('c', { failStart: true })], { log: r.log, unwind: () => 'fast' });
    await expect(start).rejects.toThrow('c failed to start');
    expect(r.events).toEqual(['start a', 'start b', 'start c', 'stop b fast', 'stop a fast']);
    expect(r.logs.find((l) => l.msg === 'a start-up step failed to stop')).toMatchObject({ step: 'b' });
  });
});
