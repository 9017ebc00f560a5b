import fc from 'fast-check';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { databaseFileName, defaultDatabasePath, temporaryDirectoryOf } from '../../../../src/node/persistence/databaseFile.js';

describe('default object database path', () => {
  it('lives in the XDG state home when it is absolute, else in ~/.local/state, one file per cluster prefix', () => {
    expect(defaultDatabasePath('/goverse', { XDG_STATE_HOME: '/srv/state' }, '/home/op')).toBe('/srv/state/goverse/goverse.sqlite');
    expect(defaultDatabasePath('/goverse', {}, '/home/op')).toBe('/home/op/.local/state/goverse/goverse.sqlite');
    expect(defaultDatabasePath('/sec', { XDG_STATE_HOME: 'relative/state' }, '/home/op')).toBe('/home/op/.local/state/goverse/sec.sqlite');
    expect(defaultDatabasePath('/other', {}, '/home/op')).not.toBe(defaultDatabasePath('/sec', {}, '/home/op'));
  });

  it('encodes every prefix as one safe file name, distinct prefixes apart', () => {
    expect(databaseFileName('/a/b')).toBe('a%2Fb.sqlite');
    expect(databaseFileName('/a%2Fb')).toBe('a%252Fb.sqlite');
    expect(databaseFileName('/..')).toBe('...sqlite');
    expect(databaseFileName('/é')).toBe('%C3%A9.sqlite');
    const long = databaseFileName(`/${'x'.repeat(1000)}`);
    expect(long.length).toBeLessThanOrEqual(220);
    expect(long).not.toBe(databaseFileName(`/${'x'.repeat(999)}`));
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 300, unit: 'grapheme' }), fc.string({ minLength: 1, maxLength: 300, unit: 'grapheme' }), (a, b) => {
        const na = databaseFileName(`/${a}`);
        const path = join('/state/goverse', na);
        return dirname(path) === '/state/goverse' && basename(path) === na && Buffer.byteLength(na) <= 220 && (a === b || na !== databaseFileName(`/${b}`));
      }),
    );
  });

  it('finds a path in a temporary directory, and only there', () => {
    expect(temporaryDirectoryOf('/tmp/goverse-node.sqlite', ['/tmp'])).toBe('/tmp');
    expect(temporaryDirectoryOf('/tmp/a/b/objects.sqlite', ['/var/tmp-x', '/tmp'])).toBe('/tmp');
    expect(temporaryDirectoryOf('/tmpfoo/objects.sqlite', ['/tmp'])).toBeNull();
    expect(temporaryDirectoryOf('/tmp/../home/objects.sqlite', ['/tmp'])).toBeNull();
    expect(temporaryDirectoryOf('/home/op/.local/state/goverse/goverse.sqlite', ['/tmp', '/dev/shm'])).toBeNull();
  });
});
