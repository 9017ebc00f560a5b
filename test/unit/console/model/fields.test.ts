import { describe, expect, it } from 'vitest';
import { type Field, fitFields, type Form, run } from '../../../../src/console/model/fields.js';

const shown = (fields: readonly Field[], width: number): (string | null)[] =>
  fitFields(fields, width).map((f: Form | null) => (f === null ? null : f.map((r) => r.text).join('')));

describe('fitFields', () => {
  const a: Field = { rank: 0, full: [run('alpha 1')] };
  const b: Field = { rank: 2, full: [run('bravo 22 long')], shorter: [{ form: [run('bravo 22')], rank: 'abbreviation' }] };
  const c: Field = { rank: 3, full: [run('charlie 333')] };
  const d: Field = { rank: 1, full: [run('delta 4 with detail')], shorter: [{ form: [run('delta 4')], rank: 4 }] };

  it('shows every field in full when there is room', () => {
    expect(shown([a, b, c, d], 200)).toEqual(['alpha 1', 'bravo 22 long', 'charlie 333', 'delta 4 with detail']);
  });

  it('abbreviates before anything loses information, then takes the least important step first', () => {
    // 7 + 13 + 11 + 19 + 3 * 3 = 59: the abbreviation saves 5, then delta's detail (rank 4) goes, before charlie (rank 3).
    expect(shown([a, b, c, d], 54)).toEqual(['alpha 1', 'bravo 22', 'charlie 333', 'delta 4 with detail']);
    expect(shown([a, b, c, d], 53)).toEqual(['alpha 1', 'bravo 22 long', 'charlie 333', 'delta 4']);
    expect(shown([a, b, c, d], 30)).toEqual(['alpha 1', 'bravo 22', null, 'delta 4']);
  });

  it('never drops a field of rank 0, and gives freed room back to the most important field first', () => {
    expect(shown([a, b, c, d], 5)).toEqual(['alpha 1', null, null, null]);
    // Without charlie there is room again: for delta's detail (rank 1) before bravo's long form (rank 2).
    expect(shown([a, b, c, d], 40)).toEqual(['alpha 1', 'bravo 22', null, 'delta 4 with detail']);
    expect(shown([a, b, c, d], 35)).toEqual(['alpha 1', 'bravo 22 long', null, 'delta 4']);
  });

  it('cuts free text after a word, never inside one', () => {
    const reason: Field = {
      rank: 1,
      full: [run('state: the reason is long')],
      shorter: [{ form: [run('state')], rank: 2 }],
      prose: { lead: [run('state: ')], text: 'the reason is long' },
    };
    expect(shown([a, reason], 30)).toEqual(['alpha 1', 'state: the reason…']);
    expect(shown([a, reason], 22)).toEqual(['alpha 1', 'state: the…']);
    expect(shown([a, reason], 20)).toEqual(['alpha 1', 'state']);
  });
});
