import { afterEach, describe, expect, it } from 'vitest';
import { type Harness, mount, snapshotOf } from './fixtures.js';

let h: Harness | null = null;
afterEach(() => h?.unmount());

describe('console app', () => {
  it('renders the header, the tab bar and the shard map', async () => {
    h = await mount(snapshotOf({ nodes: ['n1:1', 'n2:1', 'n3:1'], numShards: 64, leader: 'n1:1' }));
    const f = h.lastFrame();
    expect(f).toContain('leader n1:1');
  });
});
