import { describe, expect, it } from 'vitest';
import { completeCommand, DEFAULT_PAUSE_MS, parseCommand } from '../../../../src/console/model/palette.js';

describe('command palette', () => {
  it('switches panes and quits', () => {
    expect(parseCommand('nodes', 64, false)).toEqual({ kind: 'pane', pane: 'nodes' });
    expect(parseCommand(' stuck ', 64, false)).toEqual({ kind: 'pane', pane: 'stuck' });
    expect(parseCommand('q', 64, false)).toEqual({ kind: 'quit' });
    expect(parseCommand('quit', 64, false)).toEqual({ kind: 'quit' });
  });

  it('parses write actions with shard lists, nodes and durations', () => {
    expect(parseCommand('pin 1,3-4', 64, false)).toEqual({ kind: 'write', request: { kind: 'pin', shards: [1, 3, 4] } });
    expect(parseCommand('reassign 5', 64, false)).toEqual({ kind: 'write', request: { kind: 'retarget', shards: [5], to: null, refusals: 'refuse' } });
    expect(parseCommand('reassign 5 n2:1', 64, false)).toEqual({ kind: 'write', request: { kind: 'retarget', shards: [5], to: 'n2:1', refusals: 'refuse' } });
    expect(parseCommand('drain n1:1', 64, false)).toEqual({ kind: 'write', request: { kind: 'drain', node: 'n1:1' } });
    expect(parseCommand('pause', 64, false)).toEqual({ kind: 'write', request: { kind: 'pause', forMs: DEFAULT_PAUSE_MS, reason: 'paused from goverse-top' } });
    expect(parseCommand('pause 90s', 64, false)).toEqual({ kind: 'write', request: { kind: 'pause', forMs: 90_000, reason: 'paused from goverse-top' } });
    expect(parseCommand('resume', 64, false)).toEqual({ kind: 'write', request: { kind: 'resume' } });
    expect(parseCommand('shard 7', 64, false)).toEqual({ kind: 'jump', shard: 7 });
    expect(parseCommand('map calls', 64, false)).toEqual({ kind: 'mode', mode: 'calls' });
  });

  it('explains bad input instead of acting', () => {
    expect(parseCommand('frobnicate', 64, false)).toMatchObject({ kind: 'error', message: expect.stringContaining('unknown command') });
    expect(parseCommand('pin', 64, false)).toEqual({ kind: 'error', message: 'usage: :pin <shards>' });
    expect(parseCommand('pin 99', 64, false)).toMatchObject({ kind: 'error', message: expect.stringContaining('out of range') });
    expect(parseCommand('pause soon', 64, false)).toMatchObject({ kind: 'error', message: expect.stringContaining('invalid duration') });
    expect(parseCommand('map heat', 64, false)).toMatchObject({ kind: 'error', message: expect.stringContaining('usage') });
  });

  it('refuses writes in read-only mode', () => {
    expect(parseCommand('pin 1', 64, true)).toEqual({ kind: 'error', message: ':pin refused: read-only mode' });
    expect(parseCommand('nodes', 64, true)).toEqual({ kind: 'pane', pane: 'nodes' });
  });

  it('completes a unique command word', () => {
    expect(completeCommand('reb', false)).toBe('rebalance ');
    expect(completeCommand('re', false)).toBe('re');
    expect(completeCommand('und', false)).toBe('undrain ');
    expect(completeCommand('und', true)).toBe('und');
  });
});
