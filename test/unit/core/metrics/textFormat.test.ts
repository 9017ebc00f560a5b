import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MetricsParseError, parsePrometheusText, type MetricFamilies, SampleCache } from '../../../../src/core/metrics/textFormat.js';

/** Families as plain data, for deep comparisons. */
function plain(families: MetricFamilies) {
  return [...families.values()].map((f) => ({ ...f, samples: f.samples.map((s) => ({ ...s, labels: { ...s.labels } })) }));
}

function parseError(text: string): MetricsParseError {
  try {
    parsePrometheusText(text);
  } catch (err) {
    expect(err).toBeInstanceOf(MetricsParseError);
    return err as MetricsParseError;
  }
  throw new Error('expected a MetricsParseError');
}

describe('Prometheus text format: parsing', () => {
  it('reads HELP, TYPE and samples with labels, grouped by family', () => {
    const families = parsePrometheusText(
      [
        '# HELP goverse_shards_total Number of shards owned by each node',
        '# TYPE goverse_shards_total gauge',
        'goverse_shards_total{node="10.0.0.1:50051"} 2731',
        'goverse_shards_total{node="10.0.0.2:50051"} 2730',
        '',
        '# TYPE goverse_method_calls_total counter',
        'goverse_method_calls_total{node="a",object_type="Counter",method_name="Inc",status="success"} 1.5e3',
      ].join('\n'),
    );
    expect(plain(families)).toEqual([
      {
        name: 'goverse_shards_total',
        type: 'gauge',
        help: 'Number of shards owned by each node',
        samples: [
          { name: 'goverse_shards_total', labels: { node: '10.0.0.1:50051' }, value: 2731 },
          { name: 'goverse_shards_total', labels: { node: '10.0.0.2:50051' }, value: 2730 },
        ],
      },
      {
        name: 'goverse_method_calls_total',
        type: 'counter',
        help: '',
        samples: [
          {
            name: 'goverse_method_calls_total',
            labels: { node: 'a', object_type: 'Counter', method_name: 'Inc', status: 'success' },
            value: 1500,
          },
        ],
      },
    ]);
  });

  it('unescapes label values and HELP text', () => {
    const families = parsePrometheusText(
      ['# HELP m Back \\\\ slash,\\nnew line, \\t kept', 'm{a="q\\"uote",b="back\\\\slash",c="new\\nline",d="☃ \t tab",e=""} 1'].join('\n'),
    );
    const m = families.get('m')!;
    expect(m.help).toBe('Back \\ slash,\nnew line, \\t kept');
    expect({ ...m.samples[0]!.labels }).toEqual({ a: 'q"uote', b: 'back\\slash', c: 'new\nline', d: '☃ \t tab', e: '' });
  });

  it('reads every value spelling Go and prom-client write, and timestamps', () => {
    const text = [
      'a 1',
      'b -2.5',
      'c 1e-7',
      'd 5.11E+2',
      'e NaN',
      'f Nan',
      'g +Inf',
      'h -Inf',
      'i .5',
      'j 3 1700000000000',
      'k 4 -15',
      'l 0',
    ].join('\n');
    const values = [...parsePrometheusText(text).values()].map((f) => f.samples[0]!);
    expect(values.map((s) => s.value)).toEqual([1, -2.5, 1e-7, 511, Number.NaN, Number.NaN, Infinity, -Infinity, 0.5, 3, 4, 0]);
    expect(values[9]!.timestampMs).toBe(1_700_000_000_000);
    expect(values[10]!.timestampMs).toBe(-15);
    expect('timestampMs' in values[0]!).toBe(false);
  });

  it('groups histogram and summary samples under their family, suffixes kept on the samples', () => {
    const families = parsePrometheusText(
      [
        '# TYPE lat histogram',
        'lat_bucket{le="0.1"} 1',
        'lat_bucket{le="+Inf"} 3',
        'lat_sum 0.9',
        'lat_count 3',
        '# TYPE rpc summary',
        'rpc{quantile="0.5"} 0.2',
        'rpc{quantile="0.99"} NaN',
        'rpc_sum 1',
        'rpc_count 5',
        '# TYPE plain counter',
        'plain_count 7',
      ].join('\n'),
    );
    expect([...families.keys()]).toEqual(['lat', 'rpc', 'plain', 'plain_count']);
    expect(families.get('lat')!.samples.map((s) => s.name)).toEqual(['lat_bucket', 'lat_bucket', 'lat_sum', 'lat_count']);
    expect(families.get('rpc')!.samples.map((s) => s.name)).toEqual(['rpc', 'rpc', 'rpc_sum', 'rpc_count']);
    expect(families.get('plain')!.samples).toEqual([]);
    expect(families.get('plain_count')!.type).toBe('untyped');
  });

  it('keeps untyped samples and families declared without samples', () => {
    const families = parsePrometheusText('# HELP lonely declared only\n# TYPE empty_hist histogram\nfree 1\nfree{x="y"} 2\n');
    expect(plain(families)).toEqual([
      { name: 'lonely', type: 'untyped', help: 'declared only', samples: [] },
      { name: 'empty_hist', type: 'histogram', help: '', samples: [] },
      {
        name: 'free',
        type: 'untyped',
        help: '',
        samples: [
          { name: 'free', labels: {}, value: 1 },
          { name: 'free', labels: { x: 'y' }, value: 2 },
        ],
      },
    ]);
  });

  it('tolerates what scrapers tolerate: blank lines, comments, CRLF, tabs, spacing, a trailing comma, no final newline', () => {
    const text = '\r\n# a comment\r\n# TYPE\r\n# HELP y\r\n#HELP x help\r\n  \t\r\n\t# TYPE x gauge\r\n  x { a = "1" , b="2", }\t7  \r\nx{} 8\r\ny{a="1"}9\r\n# TYPE\r\n#\r\nz:total 1';
    const families = parsePrometheusText(text);
    expect(families.get('x')!.help).toBe('help');
    expect(families.get('x')!.samples.map((s) => [{ ...s.labels }, s.value])).toEqual([
      [{ a: '1', b: '2' }, 7],
      [{}, 8],
    ]);
    expect(families.get('y')!.samples[0]!.value).toBe(9);
    expect(families.get('y')!.help).toBe('');
    expect(families.get('z:total')!.samples[0]!.value).toBe(1);
  });

  it('accepts a label named __proto__ as an ordinary label', () => {
    const s = parsePrometheusText('m{__proto__="x",constructor="y"} 1').get('m')!.samples[0]!;
    expect(Object.keys(s.labels)).toEqual(['__proto__', 'constructor']);
    expect(s.labels.__proto__).toBe('x');
  });

  it('parses the empty text', () => {
    expect(parsePrometheusText('').size).toBe(0);
  });
});

describe('Prometheus text format: errors name the line and the problem', () => {
  it.each([
    ['m 1\nm{a="b} 1', 2, 'unterminated value of label a'],
    ['m{a="b"', 1, 'unterminated label set'],
    ['m{a="b",', 1, 'unterminated label set'],
    ['m{a="b" c="d"} 1', 1, 'expected , or } after label a'],
    ['m{a=b} 1', 1, 'expected a quoted value for label a'],
    ['m{a} 1', 1, 'expected = after label a'],
    ['m{1a="b"} 1', 1, 'invalid label name at column 3'],
    ['m{a="x\\t"} 1', 1, 'invalid escape "\\\\t" in the value of label a'],
    ['m{a="1",a="2"} 1', 1, 'duplicate label a'],
    ['\n\nm', 3, 'missing value for m'],
    ['m abc', 1, 'invalid value "abc" for m'],
    ['m 1_000', 1, 'invalid value "1_000" for m'],
    ['m 0x10', 1, 'invalid value "0x10" for m'],
    ['m 1 12.5', 1, 'invalid timestamp "12.5" for m: expected milliseconds'],
    ['m 1 2 3', 1, 'unexpected text after the timestamp of m'],
    ['m-x 1', 1, 'invalid character "-" in metric name m'],
    ['1m 1', 1, 'expected a metric name, found "1"'],
    ['{a="b"} 1', 1, 'expected a metric name, found "{"'],
    ['# TYPE m gauge\n# TYPE m counter', 2, 'second TYPE line for m (the first is line 1)'],
    ['# HELP m a\n# HELP m b', 2, 'second HELP line for m (the first is line 1)'],
    ['m 1\n# TYPE m gauge', 2, 'TYPE line for m after its samples'],
    ['# TYPE m gauges', 1, 'unknown type "gauges" for m: expected counter, gauge, histogram, summary or untyped'],
    ['# HELP 1m x', 1, 'HELP line without a valid metric name'],
    ['# TYPE m-x gauge', 1, 'TYPE line without a valid metric name'],
    ['# TYPE h histogram\nh_bucket 1', 2, 'sample h_bucket needs a le label'],
    ['# TYPE h histogram\nh_bucket{le="big"} 1', 2, 'invalid le "big" in h_bucket'],
    ['# TYPE h histogram\nh 1', 2, 'sample h of histogram h needs a _bucket, _sum or _count suffix'],
    ['# TYPE s summary\ns 1', 2, 'sample s needs a quantile label'],
  ])('%j -> line %d: %s', (text, line, reason) => {
    const err = parseError(text);
    expect(err.line).toBe(line);
    expect(err.reason).toContain(reason);
    expect(err.message).toBe(`metrics text line ${line}: ${err.reason}`);
    expect(err.code).toBe('invalid_argument');
  });
});

/** A minimal writer of the format, for round-trip properties (escapes as the format specifies). */
function render(families: { name: string; help: string; samples: { labels: [string, string][]; value: number }[] }[]): string {
  const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${f.name} gauge`);
    for (const s of f.samples) {
      const labels = s.labels.map(([k, v]) => `${k}="${esc(v)}"`).join(',');
      lines.push(`${f.name}{${labels}} ${Number.isNaN(s.value) ? 'NaN' : s.value === Infinity ? '+Inf' : s.value === -Infinity ? '-Inf' : Object.is(s.value, -0) ? '-0' : s.value}`);
    }
  }
  return lines.join('\n');
}

describe('Prometheus text format: properties', () => {
  it('never throws anything but MetricsParseError, on any input', () => {
    const token = fc.constantFrom('#', ' ', '\t', 'HELP', 'TYPE', 'm', 'm_bucket', 'm_sum', '{', '}', '"', '\\', '=', ',', 'le', 'quantile', '1', '-', '.', 'e', 'NaN', '+Inf', 'histogram', 'summary', 'gauge', '\n', '\r', '__proto__');
    const texts = fc.oneof(fc.string({ unit: 'binary' }), fc.array(token, { maxLength: 40 }).map((t) => t.join('')));
    fc.assert(
      fc.property(texts, (text) => {
        try {
          parsePrometheusText(text);
        } catch (err) {
          if (!(err instanceof MetricsParseError)) throw err;
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('reads back what a correct writer wrote: names, help, any label values, any values', () => {
    const name = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,10}$/);
    const labelName = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,6}$/);
    const value = fc.oneof(fc.double(), fc.integer().map(Number));
    const sample = fc.record({ labels: fc.uniqueArray(fc.tuple(labelName, fc.string({ unit: 'binary' })), { selector: ([k]) => k, maxLength: 4 }), value });
    const family = fc.record({ name, help: fc.string({ unit: 'binary' }).filter((h) => !h.includes('\r')), samples: fc.array(sample, { maxLength: 4 }) });
    fc.assert(
      fc.property(fc.uniqueArray(family, { selector: (f) => f.name, maxLength: 4 }), (families) => {
        // Distinct names that are not each other's suffixed variants keep the families apart.
        const parsed = parsePrometheusText(render(families));
        for (const f of families) {
          const got = parsed.get(f.name)!;
          expect(got.help).toBe(f.help.replace(/^[ \t]+/, ''));
          expect(got.samples.map((s) => ({ labels: { ...s.labels }, value: s.value }))).toEqual(
            f.samples.map((s) => ({ labels: Object.fromEntries(s.labels), value: s.value })),
          );
        }
      }),
    );
  });
});

describe('Prometheus text format: the sample cache', () => {
  /** Either the families as plain data or the error's message. */
  const outcome = (parse: () => MetricFamilies): unknown => {
    try {
      return plain(parse());
    } catch (err) {
      if (!(err instanceof MetricsParseError)) throw err;
      return err.message;
    }
  };

  it('gives what a parse without it gives, scrape after scrape, failures included', () => {
    // Lines a source could send, well-formed or not, so texts repeat lines across scrapes in any order and context.
    const line = fc.constantFrom(
      '# TYPE h histogram',
      '# TYPE s summary',
      '# TYPE c counter',
      '# HELP c help',
      'c 1',
      'c 2',
      'c{shard="1"} 3',
      'c{shard="1"} 4',
      'h_bucket{le="1"} 1',
      'h_bucket{le="+Inf"} 2',
      'h_bucket 3',
      'h 1',
      'h_sum 2',
      'h_count 2',
      's{quantile="0.5"} 1',
      's 2',
      's_count 2',
      'g{a="x",b="y\\"z"} 5',
      'g{a="x",a="y"} 5',
      'bad line',
      '',
    );
    const texts = fc.array(fc.array(line, { maxLength: 10 }).map((ls) => ls.join('\n')), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(texts, (scrapes) => {
        const cache = new SampleCache();
        for (const text of scrapes) expect(outcome(() => parsePrometheusText(text, cache))).toEqual(outcome(() => parsePrometheusText(text)));
      }),
      { numRuns: 2000 },
    );
  });

  it('reuses the sample of a line seen in the previous scrape, and forgets lines that scrape did not have', () => {
    const cache = new SampleCache();
    const first = parsePrometheusText('# TYPE c counter\nc{shard="1"} 3\nc{shard="2"} 4\n', cache);
    const second = parsePrometheusText('# TYPE c counter\nc{shard="1"} 3\nc{shard="2"} 5\n', cache);
    expect(second.get('c')!.samples[0]).toBe(first.get('c')!.samples[0]);
    expect(second.get('c')!.samples[1]).not.toBe(first.get('c')!.samples[1]);
    const third = parsePrometheusText('# TYPE c counter\nc{shard="2"} 4\n', cache);
    expect(third.get('c')!.samples[0]).not.toBe(first.get('c')!.samples[1]);
  });
});
