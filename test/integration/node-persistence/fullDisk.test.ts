/**
 * A full disk under a real goverse-node (its database on a small tmpfs, filled up): saves fail with the SQLite code,
 * the calls fail retriably (503) and change nothing, /ready turns 503 naming the store, the
 * goverse_persistence_errors_total counter counts by op and code, one warning is logged per code per 10 s; once
 * space returns /ready is 200 again by itself (the node probes), calls succeed, and every acknowledged increment
 * survives a kill -9.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleValue } from '../../../src/core/metrics/query.js';
import { parsePrometheusText } from '../../../src/core/metrics/textFormat.js';
import { NodeCluster, type TestNode } from '../../harness/nodes.js';
import { managedTempDir } from '../../harness/processes.js';
import { waitFor } from '../../harness/waitFor.js';

const WARNING = 'object store write failed';

let cluster: NodeCluster | undefined;
let disk = '';
/** Why the test cannot run here, or null. */
let unavailable: string | null = null;

beforeAll(async () => {
  disk = join(managedTempDir('full-disk'), 'disk');
  mkdirSync(disk);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', disk], { stdio: 'pipe' });
  } catch (err) {
    unavailable = `mount -t tmpfs is not permitted here (${String((err as { stderr?: Buffer }).stderr ?? err).trim()})`;
    return;
  }
  cluster = await NodeCluster.start({ nodes: 0, numShards: 8, label: 'full-disk' });
  await cluster.addNodes(1, { GOVERSE_DB_PATH: join(disk, 'objects.sqlite') }, false);
  await cluster.node(0).start();
  await cluster.waitStable();
});

afterAll(async () => {
  await cluster?.close();
  if (unavailable === null) execFileSync('umount', ['-l', disk]);
});

async function add(node: TestNode, amount: number) {
  return node.api('/v1/objects/call', { type: 'Counter', id: 'c', method: 'add', args: { amount } });
}

/** Fills the file system with one file until it is full; returns its path. */
function fill(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
  // The last partial chunk may have left a page: fill it byte-wise too.
  const tail = openSync(path, 'a');
  try {
    for (;;) writeSync(tail, Buffer.alloc(512, 1));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(tail);
  }
  return path;
}

function warnings(node: TestNode): Record<string, unknown>[] {
  return node
    .log()
    .split('\n')
    .filter((l) => l.includes(WARNING))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('a full disk under a node', () => {
  it('fails saves visibly and retriably, loses nothing acknowledged, and recovers by itself', async (ctx) => {
    if (unavailable !== null) ctx.skip(unavailable);
    const node = cluster!.node(0);
    expect((await add(node, 1)).body).toEqual({ result: { value: 1 } });
    expect((await node.ready()).status).toBe(200);

    const filler = fill(disk);
    const firstFailure = performance.now();
    const failed = [];
    for (let i = 0; i < 20; i++) failed.push(await add(node, 10));
    for (const r of failed) {
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({ error: { code: 'persistence', retriable: true, message: expect.stringContaining('SQLITE_FULL') } });
    }
    // The failed calls changed nothing: the counter still holds its one acknowledged increment.
    expect((await node.api('/v1/objects/call', { type: 'Counter', id: 'c', method: 'get' })).body).toEqual({ result: { value: 1 } });

    const ready = await node.ready();
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'not ready', storage: { status: 'failing', op: expect.any(String), code: 'SQLITE_FULL' } });
    expect(ready.body.reasons).toEqual(expect.arrayContaining([expect.stringMatching(/^object store failing since .*SQLITE_FULL/)]));

    const families = parsePrometheusText(await node.metrics());
    expect(sampleValue(families, 'goverse_persistence_errors_total', { op: 'save', code: 'SQLITE_FULL' })).toBeGreaterThanOrEqual(20);
    expect(sampleValue(families, 'goverse_node_ready')).toBe(0);

    // One warning per code per 10 s, however many failures: 20 saves (and the probes) within the first window.
    const lines = warnings(node);
    const windows = 1 + Math.floor((performance.now() - firstFailure) / 10_000);
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(windows);
    expect(lines[0]).toMatchObject({ level: 'warn', op: 'save', code: 'SQLITE_FULL', object: 'Counter/c', suppressed: 0 });

    // Space returns: the node's probe finds out by itself, with no call arriving.
    rmSync(filler);
    await waitFor('/ready 200 again', async () => (await node.ready()).status === 200, { timeoutMs: 15_000 });
    expect((await node.ready()).body).toMatchObject({ storage: { status: 'ok' } });
    expect(node.log()).toContain('object store accepts writes again');
    expect((await add(node, 2)).body).toEqual({ result: { value: 3 } });

    // Every acknowledged increment is on disk: a killed and restarted node reads 3.
    await node.kill();
    await node.start();
    // The killed process's key lingers until its lease expires: wait for the new process to serve.
    await waitFor('the restarted node ready', async () => (await node.ready()).status === 200, { timeoutMs: 30_000 });
    expect((await node.api('/v1/objects/call', { type: 'Counter', id: 'c', method: 'get' })).body).toEqual({ result: { value: 3 } });
  });
});
