import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../../src/core/keyspace/records.js';
import { parsePrometheusText } from '../../../../src/core/metrics/textFormat.js';
import { buildSnapshot, type Kv } from '../../../../src/core/snapshot/snapshot.js';
import { configuredBaseUrl, expandTemplate, identifyNode, metricsTargets, opsMetricsUrl, parseMetricsSources } from '../../../../src/core/view/index.js';

function snapshot(entries: Record<string, string>) {
  const kvs: Kv[] = Object.entries(entries).map(([key, value], i) => ({
    key: `/goverse/${key}`,
    value,
    modRevision: i + 1,
    createRevision: i + 1,
    lease: key.startsWith('nodes/') ? '1' : '0', // members register under a lease
  }));
  return buildSnapshot('/goverse', 16, kvs, kvs.length);
}

const info = (opsUrl: string): string =>
  encodeRecord({ nodeId: 'n', opsUrl, apiUrl: 'http://api', version: '1', weight: 1, startedAt: 0, state: 'running' });

describe('metrics targets', () => {
  it('splits templates from explicit URLs', () => {
    expect(parseMetricsSources(['http://{host}:8080/metrics', 'http://10.0.0.9:8080/metrics'])).toEqual({
      templates: ['http://{host}:8080/metrics'],
      urls: ['http://10.0.0.9:8080/metrics'],
      configured: new Map(),
    });
  });

  it('expands {addr}, {host} and {port}', () => {
    expect(expandTemplate('http://{host}:8080/metrics?n={addr}&p={port}', '10.0.0.5:48000')).toBe(
      'http://10.0.0.5:8080/metrics?n=10.0.0.5:48000&p=48000',
    );
    expect(expandTemplate('http://{host}:8080/metrics', '[::1]:48000')).toBe('http://[::1]:8080/metrics');
    expect(expandTemplate('http://{host}:8080/metrics', 'node1')).toBe('http://node1:8080/metrics');
  });

  it('uses nodeinfo ops URLs, then the template, then names what is missing', () => {
    const snap = snapshot({
      'nodes/ts:1': 'ts:1',
      'nodeinfo/ts:1': info('http://ts:9100/'),
      'nodes/noops:1': 'noops:1',
      'nodeinfo/noops:1': info(''),
      'nodes/up:1': 'up:1',
    });
    const none = metricsTargets(snap, parseMetricsSources([]));
    expect(none.targets).toEqual([{ url: 'http://ts:9100/metrics', address: 'ts:1', source: 'nodeinfo', readyUrl: null }]);
    expect(none.missing.get('up:1')).toMatch(/--metrics-url/);
    expect(none.missing.get('noops:1')).toMatch(/ops endpoint/);

    const plan = metricsTargets(snap, parseMetricsSources(['http://{host}:8080/metrics', 'http://x:1/metrics', 'http://x:1/metrics']));
    expect(plan.targets).toEqual([
      { url: 'http://ts:9100/metrics', address: 'ts:1', source: 'nodeinfo', readyUrl: null },
      { url: 'http://noops:8080/metrics', address: 'noops:1', source: 'template', readyUrl: null },
      { url: 'http://up:8080/metrics', address: 'up:1', source: 'template', readyUrl: null },
      { url: 'http://x:1/metrics', address: null, source: 'list', readyUrl: null },
    ]);
    expect(plan.missing.size).toBe(0);
  });

  it('takes a published ops URL only as http(s)://host:port on the node\'s own host', () => {
    const at = (url: string, address = '10.0.0.5:7001') => opsMetricsUrl(url, address);
    expect(at('http://10.0.0.5:9100')).toEqual({ url: 'http://10.0.0.5:9100/metrics' });
    expect(at('https://10.0.0.5:9100/')).toEqual({ url: 'https://10.0.0.5:9100/metrics' });
    expect(at('http://Node1.Internal:9100', 'node1.internal:48000')).toEqual({ url: 'http://Node1.Internal:9100/metrics' });
    expect(at('http://[::1]:9100', '[::1]:7001')).toEqual({ url: 'http://[::1]:9100/metrics' });
    for (const url of [
      'http://10.0.0.6:9100',
      'http://169.254.169.254:80',
      'http://10.0.0.5.evil.com:9100',
      'http://evil.com:9100',
    ]) {
      expect(at(url), url).toEqual({ problem: expect.stringMatching(/is not the node's own host 10\.0\.0\.5$/) });
    }
    for (const url of [
      'http://10.0.0.5',
      'http://10.0.0.5:0',
      'http://10.0.0.5:70000',
      'http://10.0.0.5:9100/admin',
      'http://10.0.0.5:9100/metrics?x=1',
      'http://10.0.0.5:9100#f',
      'http://user:pw@10.0.0.5:9100',
      'http://evil.com@10.0.0.5:9100',
      'file:///etc/passwd',
      'gopher://10.0.0.5:9100',
      'http://10.0.0.5:9100\n',
      ' http://10.0.0.5:9100',
      'http://10.0.0.5%2e:9100',
    ]) {
      expect(at(url), url).toEqual({ problem: 'not of the form http(s)://host:port' });
    }
  });

  it('never targets a rejected ops URL: the template stands in and the URL is reported, else the node says why', () => {
    const snap = snapshot({
      'nodes/10.0.0.5:7001': '10.0.0.5:7001',
      'nodeinfo/10.0.0.5:7001': info('http://169.254.169.254:80/latest/meta-data?x'),
    });
    const bare = metricsTargets(snap, parseMetricsSources([]));
    expect(bare.targets).toEqual([]);
    expect(bare.missing.get('10.0.0.5:7001')).toMatch(/^ops URL "http:\/\/169\.254\.169\.254:80\/latest\/meta-data\?x" published by 10\.0\.0\.5:7001, ignored: not of the form/);
    const templated = metricsTargets(snap, parseMetricsSources(['http://{host}:9100/metrics']));
    expect(templated.targets).toEqual([{ url: 'http://10.0.0.5:9100/metrics', address: '10.0.0.5:7001', source: 'template', readyUrl: null }]);
    expect(templated.ignored).toEqual([
      { url: 'http://169.254.169.254:80/latest/meta-data?x', reason: 'published by 10.0.0.5:7001, ignored: not of the form http(s)://host:port' },
    ]);
  });

  it("finds nodes without nodeinfo in the config file's node list, on their own host only, before the template", () => {
    const snap = snapshot({
      'nodes/10.0.0.5:7001': '10.0.0.5:7001',
      'nodes/10.0.0.6:7001': '10.0.0.6:7001',
      'nodes/10.0.0.7:7001': '10.0.0.7:7001',
      'nodes/ts:1': 'ts:1',
      'nodeinfo/ts:1': info('http://ts:9100'),
    });
    const configNodes = [
      { address: '10.0.0.5:7001', httpAddr: ':8080' }, // wildcard: the node's own host
      { address: '10.0.0.6:7001', httpAddr: '169.254.169.254:80' }, // another host: never fetched
      { address: 'ts:1', httpAddr: 'elsewhere:1' }, // one of ours: its nodeinfo is the truth
      { address: 'gone:1', httpAddr: ':8080' }, // not registered: nothing to scrape
    ];
    const plan = metricsTargets(snap, parseMetricsSources([], configNodes));
    expect(plan.targets).toEqual([
      { url: 'http://10.0.0.5:8080/metrics', address: '10.0.0.5:7001', source: 'config', readyUrl: 'http://10.0.0.5:8080/ready' },
      { url: 'http://ts:9100/metrics', address: 'ts:1', source: 'nodeinfo', readyUrl: null },
    ]);
    expect(plan.missing.get('10.0.0.6:7001')).toBe(
      `http_addr "169.254.169.254:80" listed for 10.0.0.6:7001 in the config file, ignored: host 169.254.169.254 is not the node's own host 10.0.0.6; give --metrics-url`,
    );
    expect(plan.missing.get('10.0.0.7:7001')).toMatch(/no nodeinfo and no config file entry with an http_addr; give --config or --metrics-url/);
    // The template stands in for a refused entry, which is then reported as ignored.
    const templated = metricsTargets(snap, parseMetricsSources(['http://{host}:9100/metrics'], configNodes));
    expect(templated.targets.map((t) => [t.address, t.source])).toEqual([
      ['10.0.0.5:7001', 'config'],
      ['10.0.0.6:7001', 'template'],
      ['10.0.0.7:7001', 'template'],
      ['ts:1', 'nodeinfo'],
    ]);
    expect(templated.ignored).toEqual([{ url: '169.254.169.254:80', reason: expect.stringMatching(/^listed for 10\.0\.0\.6:7001 in the config file, ignored/) }]);
    expect(configuredBaseUrl('0.0.0.0:9', 'n.internal:1')).toEqual({ base: 'http://n.internal:9' });
    expect(configuredBaseUrl('N.internal:9', 'n.internal:1')).toEqual({ base: 'http://N.internal:9' });
    expect(configuredBaseUrl(':0', 'n:1')).toEqual({ problem: 'not a host:port with a port' });
  });

  it('recognises the node of an explicit URL by its own series, else by a unique host', () => {
    const candidates = new Set(['127.0.0.1:7001', '127.0.0.1:7002', '10.0.0.3:48000']);
    const own = parsePrometheusText(
      '# TYPE goverse_shards_total gauge\ngoverse_shards_total{node="127.0.0.1:7001"} 1\ngoverse_shards_total{node="127.0.0.1:7002"} 1\n' +
        '# TYPE goverse_shard_claims_total counter\ngoverse_shard_claims_total{node="127.0.0.1:7002"} 5\n',
    );
    expect(identifyNode('http://127.0.0.1:9000/metrics', own, candidates)).toBe('127.0.0.1:7002');
    // Only cluster-wide series: the host decides when it is unique.
    const clusterWide = parsePrometheusText('# TYPE goverse_shards_total gauge\ngoverse_shards_total{node="127.0.0.1:7001"} 1\n');
    expect(identifyNode('http://10.0.0.3:8080/metrics', clusterWide, candidates)).toBe('10.0.0.3:48000');
    expect(identifyNode('http://127.0.0.1:8080/metrics', clusterWide, candidates)).toBeNull();
    expect(identifyNode('http://10.0.0.3:8080/metrics', null, candidates)).toBe('10.0.0.3:48000');
  });
});
