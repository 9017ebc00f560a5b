/**
 * Operator input the built goverse-top refuses or warns about before it can do harm: TLS files that are not PEM
 * (exit 2 naming the file at once, not exit 1 after the whole timeout; no deprecation warning for an IP endpoint),
 * a password in argv (a warning; --password-file instead), pauses beyond the longest allowed and shard counts
 * beyond 2^20 (exit 2 before etcd is touched), and nodeinfo ops URLs that are not the node's own (never fetched).
 */
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../src/core/keyspace/records.js';
import { createEtcdClient } from '../../../src/edge/etcd/client.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { uniquePrefix } from '../../harness/prefix.js';
import { managedTempDir, removeManagedDir } from '../../harness/processes.js';
import { makeTestCertificates, type TestCertificates } from '../../harness/tls.js';
import { json, runCli } from './cliRunner.js';

const dir = managedTempDir('cli-inputs');
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const cleanups: (() => Promise<unknown> | void)[] = [() => removeManagedDir(dir)];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function etcdServer(label: string, options: Parameters<typeof startEtcd>[1] = {}): Promise<EtcdCluster> {
  const etcd = await startEtcd(label, options);
  cleanups.push(() => etcd.close());
  return etcd;
}

describe('TLS files', () => {
  let certs: TestCertificates;
  let endpoint: string;

  beforeAll(async () => {
    certs = makeTestCertificates();
    cleanups.push(() => removeManagedDir(certs.dir));
    endpoint = `https://${(await etcdServer('cli-tls', { tls: certs })).endpoints[0]!}`;
  }, 60_000);

  const tlsArgs = (ca: string, cert = certs.clientCertFile, key = certs.clientKeyFile): string[] => [
    '--etcd',
    endpoint,
    '--cacert',
    ca,
    '--cert',
    cert,
    '--key',
    key,
    '--timeout',
    '45s',
  ];

  it('are parsed up front: a file that is not what it should be exits 2 at once, naming it', async () => {
    const garbage = file('garbage.pem', 'this is not a certificate\n');
    const broken = file('broken.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const cases: [string, string[], RegExp][] = [
      ['garbage CA', tlsArgs(garbage), /etcd TLS CA file .*garbage\.pem: holds no PEM certificate/],
      ['unparsable CA', tlsArgs(broken), /etcd TLS CA file .*broken\.pem: certificate 1 of 1 cannot be parsed/],
      ['a key as the certificate', tlsArgs(certs.caFile, certs.clientKeyFile), /etcd TLS certificate file .*client\.key: holds no PEM certificate/],
      ['garbage key', tlsArgs(certs.caFile, certs.clientCertFile, garbage), /etcd TLS key file .*garbage\.pem: is not an unencrypted PEM private key/],
      ['another certificate\'s key', tlsArgs(certs.caFile, certs.clientCertFile, certs.keyFile), /etcd TLS key file .*server\.key: does not go with the certificate in .*client\.pem/],
    ];
    const runs = await Promise.all(cases.map(([, args]) => runCli(['status', ...args])));
    for (const [i, [what, , message]] of cases.entries()) {
      const r = runs[i]!;
      expect(r.code, `${what}: ${r.stderr}`).toBe(2);
      expect(r.stderr, what).toMatch(message);
      // Far below the 45s etcd timeout a bad file used to cost.
      expect(r.ms, what).toBeLessThan(20_000);
    }
  });

  it('that are good reach an etcd at an IP address without a deprecation warning', async () => {
    const r = await runCli(['status', ...tlsArgs(certs.caFile)]);
    // An empty cluster: every shard lacks an owner (exit 4), read over TLS with a client certificate.
    expect(r.code, r.stderr).toBe(4);
    expect(r.stdout).toContain('cluster   /goverse at revision');
    expect(r.stderr).not.toMatch(/DeprecationWarning|DEP0123/);
  });
});

describe('etcd passwords', () => {
  let endpoints: string;

  beforeAll(async () => {
    const etcd = await etcdServer('cli-auth');
    const admin = new Etcd3({ hosts: etcd.endpoints });
    await admin.role('root').create();
    await (await admin.user('root').create('s3cret')).addRole('root');
    await admin.auth.authEnable();
    admin.close();
    endpoints = etcd.endpoints.join(',');
  }, 60_000);

  it('in argv works but warns, naming the alternatives; from a file works without a warning', async () => {
    const [inArgv, fromFile] = await Promise.all([
      runCli(['status', '--etcd', endpoints, '--user', 'root:s3cret']),
      runCli(['status', '--etcd', endpoints, '--user', 'root', '--password-file', file('password', 's3cret\n')]),
    ]);
    expect(inArgv.code, inArgv.stderr).toBe(4);
    expect(inArgv.stderr).toMatch(/warning: config: --user carries the etcd password: .*process list.*GOVERSE_ETCD_PASSWORD, --password-file/);
    expect(inArgv.stderr).not.toContain('s3cret');
    expect(fromFile.code, fromFile.stderr).toBe(4);
    expect(fromFile.stderr).not.toContain('warning');
  });

  it('refuses a missing or empty password file, and a password given two ways (exit 2)', async () => {
    const runs = await Promise.all([
      runCli(['status', '--etcd', endpoints, '--user', 'root', '--password-file', join(dir, 'absent')]),
      runCli(['status', '--etcd', endpoints, '--user', 'root', '--password-file', file('empty', '\n')]),
      runCli(['status', '--etcd', endpoints, '--user', 'root', '--password-file', file('pw2', 's3cret')], { GOVERSE_ETCD_PASSWORD: 's3cret' }),
    ]);
    expect(runs.map((r) => r.code)).toEqual([2, 2, 2]);
    expect(runs[0]!.stderr).toMatch(/etcd password file .*absent: no such file/);
    expect(runs[1]!.stderr).toMatch(/etcd password file .*empty: is empty/);
    expect(runs[2]!.stderr).toMatch(/flag --password-file: the etcd password is also given by env GOVERSE_ETCD_PASSWORD/);
  });
});

describe('bounds', () => {
  it('refuse a pause beyond the longest allowed before etcd is touched, and follow GOVERSE_MAX_PAUSE', async () => {
    const etcd = await etcdServer('cli-pause');
    const env = { GOVERSE_ETCD_ENDPOINTS: etcd.endpoints.join(','), GOVERSE_ETCD_PREFIX: uniquePrefix('pause'), GOVERSE_NUM_SHARDS: '4' };
    const [long, centuries, unreachable, allowed, configured] = await Promise.all([
      runCli(['rebalance', 'pause', '--for', '25h'], env),
      runCli(['rebalance', 'pause', '--for', '2400000h'], env),
      // No etcd at all: refused as input all the same (exit 2, not 1).
      runCli(['rebalance', 'pause', '--for', '25h', '--etcd', '127.0.0.1:1']),
      runCli(['rebalance', 'pause', '--for', '24h', '--dry-run', '-o', 'json'], env),
      runCli(['rebalance', 'pause', '--for', '25h', '--dry-run', '-o', 'json'], { ...env, GOVERSE_MAX_PAUSE: '48h' }),
    ]);
    for (const r of [long, centuries, unreachable]) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/is longer than the longest allowed, 24h \(GOVERSE_MAX_PAUSE\)/);
    }
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(configured.code, configured.stderr).toBe(0);
    expect(json<{ changes: { outcome: string }[] }>(configured).changes).toMatchObject([{ outcome: 'dry-run' }]);
  });

  it('refuse more than 2^20 shards from a flag, the environment or the YAML file', async () => {
    const yaml = file('shards.yaml', 'cluster:\n  shards: 4194304\n');
    const runs = await Promise.all([
      runCli(['status', '--num-shards', '1048577', '--etcd', '127.0.0.1:1']),
      runCli(['status', '--etcd', '127.0.0.1:1'], { GOVERSE_NUM_SHARDS: '81920000' }),
      runCli(['status', '--config', yaml, '--etcd', '127.0.0.1:1']),
      runCli(['locate', 'Counter-1', '--offline', '--num-shards', '1048576']),
    ]);
    expect(runs.map((r) => r.code)).toEqual([2, 2, 2, 0]);
    expect(runs[0]!.stderr).toContain('flag --num-shards: invalid value "1048577": expected an integer from 1 to 1048576');
    expect(runs[1]!.stderr).toContain('env GOVERSE_NUM_SHARDS: invalid value "81920000"');
    expect(runs[2]!.stderr).toMatch(/shards\.yaml:cluster\.shards: invalid value 4194304: expected an integer from 1 to 1048576 \(line 2\)/);
  });
});

describe('nodeinfo ops URLs', () => {
  it('are fetched only as http(s)://host:port on the node\'s own host; others are ignored and reported', async () => {
    const requests: string[] = [];
    const server: Server = createServer((req, res) => {
      requests.push(req.url ?? '');
      res.end('# TYPE goverse_node_ready gauge\ngoverse_node_ready 1\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const port = (server.address() as { port: number }).port;
    const etcd = await etcdServer('cli-nodeinfo');
    const client = createEtcdClient({ endpoints: etcd.endpoints });
    cleanups.push(() => client.close());
    const prefix = uniquePrefix('nodeinfo');
    const lease = await client.grantLease(120);
    const nodes: Record<string, string> = {
      '127.0.0.1:47021': `http://127.0.0.1:${port}`,
      'localhost:47022': `http://127.0.0.1:${port}/steal?x=1`,
      '127.0.0.1:47023': `http://user:pw@127.0.0.1:${port}`,
      '127.0.0.1:47024': `http://10.255.255.1:${port}`,
    };
    for (const [address, opsUrl] of Object.entries(nodes)) {
      await client.put(`${prefix}/nodes/${address}`, address, { lease: lease.id });
      const info = { nodeId: address, opsUrl, apiUrl: `http://${address}`, version: '1', weight: 1, startedAt: Date.now(), state: 'running' };
      await client.put(`${prefix}/nodeinfo/${address}`, encodeRecord(info), { lease: lease.id });
    }
    const env = { GOVERSE_ETCD_ENDPOINTS: etcd.endpoints.join(','), GOVERSE_ETCD_PREFIX: prefix, GOVERSE_NUM_SHARDS: '4' };

    type Doc = { nodes: { address: string; metrics: { status: string; reason?: string } }[]; unmatchedMetrics: { url: string; reason: string }[] };
    const plain = json<Doc>(await runCli(['nodes', '-o', 'json'], env));
    expect(requests).toEqual(['/metrics']);
    const status = new Map(plain.nodes.map((n) => [n.address, n.metrics]));
    expect(status.get('127.0.0.1:47021')).toMatchObject({ status: 'ok' });
    expect(status.get('localhost:47022')?.reason).toMatch(/published by localhost:47022, ignored: not of the form http\(s\):\/\/host:port/);
    expect(status.get('127.0.0.1:47023')?.reason).toMatch(/ignored: not of the form/);
    expect(status.get('127.0.0.1:47024')?.reason).toMatch(/ignored: host 10\.255\.255\.1 is not the node's own host 127\.0\.0\.1/);

    // With a template the nodes are scraped where the operator says, and the ignored URLs are listed.
    requests.length = 0;
    const templated = json<Doc>(await runCli(['nodes', '-o', 'json', '--metrics-url', `http://{host}:${port}/tpl`], env));
    expect(requests.filter((r) => r !== '/metrics' && r !== '/tpl')).toEqual([]);
    expect(requests.filter((r) => r === '/tpl').length).toBeGreaterThanOrEqual(2);
    expect(templated.unmatchedMetrics.map((u) => u.url).sort()).toEqual(
      [`http://127.0.0.1:${port}/steal?x=1`, `http://user:pw@127.0.0.1:${port}`, `http://10.255.255.1:${port}`].sort(),
    );
  });
});
