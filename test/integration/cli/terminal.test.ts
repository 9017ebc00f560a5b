/**
 * Safe terminals: whoever can write etcd or answer a scrape writes escape sequences (a title change and a screen
 * clear, an OSC 52 clipboard write, the C1 CSI, a bidi override) into a node key, nodeinfo values, the balancer's
 * status, a pause record and a node's /metrics. The built goverse-top, piped as scripts run it, prints none of them
 * raw in its tables, lines and notes; `-o json` gives every string back exactly.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import { createEtcdClient, type EtcdClient } from '../../../src/edge/etcd/client.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { uniquePrefix } from '../../harness/prefix.js';
import { type CliResult, json, runCli } from './cliRunner.js';

const EVIL = '\u001b]0;evil\u0007\u001b[2J\u001b]52;c;ZXZpbA==\u0007\u009b31m\u202e';
/** How the tables show EVIL. */
const SHOWN = '\\x1b]0;evil\\x07\\x1b[2J\\x1b]52;c;ZXZpbA==\\x07\\u009b31m\\u202e';
// eslint-disable-next-line no-control-regex -- the very characters that must not reach a terminal (line breaks apart)
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/;

let etcd: EtcdCluster;
let client: EtcdClient;
let metrics: Server;
let env: Record<string, string>;
let good: string;
const bad = `10.6.6.6:1${EVIL}`;

beforeAll(async () => {
  etcd = await startEtcd('terminal');
  client = createEtcdClient({ endpoints: etcd.endpoints });
  // A node's /metrics whose label value carries the sequences: the parse error quotes it.
  metrics = createServer((_req, res) => res.end(`# TYPE goverse_x histogram\ngoverse_x_bucket{le="${EVIL}"} 1\n`));
  await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.1', resolve));
  const metricsPort = (metrics.address() as { port: number }).port;
  good = '127.0.0.1:47001';
  const prefix = uniquePrefix('terminal');
  const lease = await client.grantLease(120);
  const put = (key: string, value: string, leased = false): Promise<unknown> =>
    client.put(`${prefix}/${key}`, value, leased ? { lease: lease.id } : {});
  await put(`nodes/${good}`, good, true);
  await put(`nodes/${bad}`, bad, true);
  await put(
    `nodeinfo/${good}`,
    encodeRecord({
      nodeId: `id${EVIL}`,
      opsUrl: `http://127.0.0.1:${metricsPort}`,
      apiUrl: `http://${good}`,
      version: `v${EVIL}`,
      weight: 1,
      startedAt: Date.now(),
      state: 'running',
    }),
    true,
  );
  await put('leader', good, true);
  await put('shard/0', `${good},${good}`);
  await put('shard/1', `${bad},${bad}`);
  await put('shard/2', `${good},${bad}`);
  await put('shard/3', `${good},${good}`);
  await put('rebalance/pause', encodeRecord({ until: Date.now() + 600_000, by: `op${EVIL}`, at: Date.now(), reason: `why${EVIL}` }), true);
  await put(
    'rebalance/status',
    encodeRecord({ leader: good, strategy: 'count', state: 'paused', reason: `reason${EVIL}`, at: Date.now(), recent: [] }),
    true,
  );
  env = { GOVERSE_ETCD_ENDPOINTS: etcd.endpoints.join(','), GOVERSE_ETCD_PREFIX: prefix, GOVERSE_NUM_SHARDS: '4', GOVERSE_ETCD_TIMEOUT: '10s' };
}, 60_000);

afterAll(async () => {
  metrics?.closeAllConnections();
  await new Promise((resolve) => metrics?.close(resolve));
  await client?.close();
  await etcd?.close();
});

/** Every string in a JSON document. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) strings(v, out);
  return out;
}

describe('strings from etcd and the nodes', () => {
  it('are never printed raw by nodes, status and shards, and show escaped', async () => {
    const runs = await Promise.all([['nodes'], ['status'], ['shards'], ['stuck', '--timeout', '1s']].map((args) => runCli(args, env)));
    for (const r of runs) {
      expect([0, 4], r.stderr).toContain(r.code);
      expect(r.stdout, r.stdout).not.toMatch(RAW);
      expect(r.stderr, r.stderr).not.toMatch(RAW);
      expect(r.stdout).not.toContain('\u001b');
    }
    const [nodes, status] = runs as [CliResult, CliResult];
    const printed = runs.map((r) => r.stdout + r.stderr).join('\n');
    expect(nodes.stdout).toContain(`id${SHOWN}`);
    // The parse error of the node's /metrics quotes the label value (JSON-quoted: ESC as \u001b, the C1 CSI raw).
    expect(nodes.stdout).toContain('\\u009b31m\\u202e');
    expect(status.stdout).toContain(`why${SHOWN}`);
    expect(status.stdout).toContain(`reason${SHOWN}`);
    // The hostile node key shows escaped wherever it is shown (as a node, or as a malformed key).
    expect(printed).toContain(`10.6.6.6:1${SHOWN}`.slice(0, 24));
  });

  it('come back exactly in -o json, with no raw control character in the document', async () => {
    const [nodes, status, shards] = await Promise.all([['nodes'], ['status'], ['shards']].map((args) => runCli([...args, '-o', 'json'], env)));
    for (const r of [nodes, status, shards]) expect(r!.stdout).not.toMatch(RAW);
    const node = json<{ nodes: { address: string; nodeId: string | null; version: string | null; metrics: { reason?: string } }[] }>(nodes!).nodes.find(
      (n) => n.address === good,
    )!;
    expect(node.nodeId).toBe(`id${EVIL}`);
    expect(node.version).toBe(`v${EVIL}`);
    expect(node.metrics.reason).toContain(`invalid le ${JSON.stringify(EVIL)}`);
    const doc = json<{ balancer: { reason: string; pause: { by: string; reason: string } } }>(status!);
    expect(doc.balancer.pause).toMatchObject({ by: `op${EVIL}`, reason: `why${EVIL}` });
    // Wherever a document names the hostile node, it names it exactly.
    for (const s of [...strings(json(nodes!)), ...strings(json(shards!))].filter((s) => s.includes('10.6.6.6:1'))) expect(s).toContain(bad);
  });
});
