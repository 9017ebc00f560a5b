/**
 * A line of fields that fits the terminal by giving way, never by cutting a field: cutting the line at the edge lost
 * whole figures at 80 columns (`migrating 0 │ p`, `imbalance 1.`). Fields keep their order. When the line is too
 * wide, first every field takes its abbreviations (the same facts in fewer letters), least important first; then the
 * least important step is taken, a shorter form that leaves something out or dropping a whole field, until the line
 * fits. Room freed that way goes back to the most important fields. Free text (a reason) may instead be cut after a
 * word, with an ellipsis: figures and words are never cut.
 */
import type { Theme, Tone } from '../theme.js';

/** A run of text in one tone (none: the terminal's colour). Text is printable already. */
export interface Run {
  readonly text: string;
  readonly tone?: Tone;
}

/** One way to show a field. */
export type Form = readonly Run[];

/**
 * A shorter form and when it is taken: `abbreviation` before anything loses information, or a rank (higher ranks
 * give way first, as a field's `rank`).
 */
export interface Shorter {
  readonly form: Form;
  readonly rank: number | 'abbreviation';
}

export interface Field {
  /** When the field leaves the line: higher ranks leave first; 0 never leaves. */
  readonly rank: number;
  readonly full: Form;
  /** Shorter forms, each shorter than the one before. */
  readonly shorter?: readonly Shorter[];
  /**
   * Free text that ends the full form or one of its shorter forms, after `lead`: once the field is shorter than that,
   * the text may come back cut after a word, with an ellipsis, in whatever room the other fields leave.
   */
  readonly prose?: { readonly lead: Form; readonly text: string; readonly tone?: Tone };
}

export const SEP = ' │ ';
const ELLIPSIS = '…';

export const run = (text: string, tone?: Tone): Run => (tone === undefined ? { text } : { text, tone });

export function formWidth(form: Form): number {
  let w = 0;
  for (const r of form) w += r.text.length;
  return w;
}

/** Which form each field is in: 0 the full one, i the i-th shorter one; null when dropped. */
type Levels = (number | null)[];

function formAt(field: Field, level: number): Form {
  return level === 0 ? field.full : field.shorter![level - 1]!.form;
}

function lineWidth(fields: readonly Field[], levels: Levels): number {
  let sum = 0;
  let count = 0;
  levels.forEach((level, i) => {
    if (level === null) return;
    sum += formWidth(formAt(fields[i]!, level));
    count++;
  });
  return sum + Math.max(0, count - 1) * SEP.length;
}

/**
 * The rank of a field's next step (-1: none now). Abbreviations go first, by the field's rank; one left behind a
 * shorter form is taken before anything else. Then a shorter form by its own rank, or the field leaves by its rank.
 */
function stepRank(field: Field, next: Shorter | undefined, abbreviationsOnly: boolean): number {
  if (next?.rank === 'abbreviation') return abbreviationsOnly ? field.rank : Infinity;
  if (abbreviationsOnly) return -1;
  if (next !== undefined) return next.rank as number;
  return field.rank === 0 ? -1 : field.rank;
}

/** The form each field is shown in at `width` columns (null: dropped), in field order. */
export function fitFields(fields: readonly Field[], width: number): (Form | null)[] {
  const levels: Levels = fields.map(() => 0);
  const next = (i: number): Shorter | undefined => {
    const level = levels[i];
    return level === null || level === undefined ? undefined : fields[i]!.shorter?.[level];
  };
  // The step taken next: the highest rank, then the rightmost field.
  const step = (abbreviationsOnly: boolean): number => {
    let pick = -1;
    let pickRank = -1;
    for (let i = 0; i < fields.length; i++) {
      const rank = levels[i] === null ? -1 : stepRank(fields[i]!, next(i), abbreviationsOnly);
      if (rank >= 0 && rank >= pickRank) [pick, pickRank] = [i, rank];
    }
    return pick;
  };
  for (const abbreviationsOnly of [true, false]) {
    while (lineWidth(fields, levels) > width) {
      const i = step(abbreviationsOnly);
      if (i < 0) break;
      levels[i] = next(i) === undefined ? null : levels[i]! + 1;
    }
  }
  giveBack(fields, levels, width);
  return levels.map((level, i) => (level === null ? null : proseOrForm(fields, levels, i, width)));
}

/**
 * Room freed by dropping goes back, the most important field first: first dropped fields return in their shortest
 * form where it fits (a figure says more than a longer word), then shortened ones take longer forms while they fit.
 */
function giveBack(fields: readonly Field[], levels: Levels, width: number): void {
  const order = fields.map((_, i) => i).sort((a, b) => fields[a]!.rank - fields[b]!.rank || a - b);
  for (const i of order) {
    if (levels[i] !== null) continue;
    levels[i] = fields[i]!.shorter?.length ?? 0;
    if (lineWidth(fields, levels) > width) levels[i] = null;
  }
  for (const i of order) {
    while (levels[i] !== null && levels[i]! > 0) {
      levels[i] = levels[i]! - 1;
      if (lineWidth(fields, levels) <= width) continue;
      levels[i] = levels[i]! + 1;
      break;
    }
  }
}

/** The field's form, or its free text cut to the room left when that says more. */
function proseOrForm(fields: readonly Field[], levels: Levels, i: number, width: number): Form {
  const f = fields[i]!;
  const form = formAt(f, levels[i]!);
  if (f.prose === undefined || formWidth(form) >= formWidth(f.prose.lead) + f.prose.text.length) return form;
  const cut = cutProse(f.prose, width - (lineWidth(fields, levels) - formWidth(form)));
  return cut !== null && formWidth(cut) > formWidth(form) ? cut : form;
}

/** `lead` and the words of `text` that fit in `room` columns, ending with an ellipsis; null when no word fits. */
function cutProse(prose: NonNullable<Field['prose']>, room: number): Form | null {
  const left = room - formWidth(prose.lead) - ELLIPSIS.length;
  if (left <= 0) return null;
  const end = prose.text.lastIndexOf(' ', left);
  if (end <= 0) return null;
  return [...prose.lead, run(`${prose.text.slice(0, end).trimEnd()}${ELLIPSIS}`, prose.tone)];
}

/** The fields that fit `width`, styled and joined. */
export function renderFields(fields: readonly Field[], width: number, theme: Theme): string {
  return fitFields(fields, width)
    .filter((f): f is Form => f !== null)
    .map((form) => form.map((r) => (r.tone === undefined ? r.text : theme.tone(r.text, r.tone))).join(''))
    .join(SEP);
}
