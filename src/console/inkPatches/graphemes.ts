/**
 * A fast path for grapheme segmentation, for Ink's output pass. Ink re-tokenizes every styled line of every frame
 * with `Intl.Segmenter` (through @alcalzone/ansi-tokenize), which costs about a microsecond per character: half of an
 * 80x24 frame's output time. The console's lines are made of characters that Unicode's segmentation rules (UAX #29)
 * never join to a neighbour: ASCII, ESC, Latin-1 and the punctuation, arrows, technical symbols, box drawing,
 * blocks and shapes the screen uses. For such a string each UTF-16 unit is one grapheme, so the segments are the
 * units themselves; any other string goes to the real segmenter. Installed before Ink loads, in the console only.
 */

/**
 * Code units that are a grapheme of their own whatever surrounds them: none is a combining mark, joiner, variation
 * selector, prepend or spacing mark, or half of a surrogate pair, and CR (which joins LF) is left out.
 */
// eslint-disable-next-line no-control-regex -- ESC is one of the accepted units: styled lines are full of it.
const STANDALONE = /^[\x1b\x20-\x7e\xa0-\xff\u2010-\u2027\u2030-\u205e\u2190-\u23ff\u2500-\u27bf]*$/;

interface Segment {
  readonly segment: string;
  readonly index: number;
  readonly input: string;
}

const Base = Intl.Segmenter;
/** Whether grapheme segmenters take the fast path; segmenters made while it was installed ask on every call. */
let active = false;

/**
 * Intl.Segmenter with a fast path for grapheme segmentation. Libraries make their segmenter once, when they load, so
 * the fast path must be installed before Ink loads; turned off, the segmenters they made behave as the base class.
 */
class FastSegmenter extends Base {
  private readonly graphemes: boolean;
  constructor(locales?: Intl.LocalesArgument, options?: Intl.SegmenterOptions) {
    super(locales, options);
    this.graphemes = (options?.granularity ?? 'grapheme') === 'grapheme';
  }
  override segment(input: string): Intl.Segments {
    if (!active || !this.graphemes || !STANDALONE.test(input)) return super.segment(input);
    return standaloneSegments(input) as unknown as Intl.Segments;
  }
}

/** Replaces `Intl.Segmenter` with a subclass whose grapheme segmentation takes the fast path when it can. */
export function installGraphemeFastPath(): void {
  active = true;
  setSegmenter(FastSegmenter);
}

/** Puts the base `Intl.Segmenter` back and turns the fast path off in the segmenters made meanwhile. */
export function removeGraphemeFastPath(): void {
  active = false;
  setSegmenter(Base);
}

function setSegmenter(value: typeof Intl.Segmenter): void {
  Object.defineProperty(Intl, 'Segmenter', { value, writable: true, configurable: true });
}

/** The segments of a string whose every code unit stands alone; iterable like Intl.Segments. */
export function standaloneSegments(input: string): Iterable<Segment> {
  return {
    *[Symbol.iterator]() {
      for (let index = 0; index < input.length; index++) yield { segment: input[index]!, index, input };
    },
  };
}

/** Whether `input` takes the fast path (exported for the equivalence test). */
export function isStandalone(input: string): boolean {
  return STANDALONE.test(input);
}
