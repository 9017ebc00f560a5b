/**
 * Issue 3 acceptance: bad configuration makes goverse-node exit with code 2 before it touches etcd, with one line
 * naming the source of the bad value (flag, env, file:key or file:line) and the accepted form.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NODE_BIN } from '../../harness/nodes.js';
import { managedTempDir, removeManagedDir } from '../../harness/processes.js';

const dir = managedTempDir('bad-config');
afterAll(() => removeManagedDir(dir));

/**
 * Runs goverse-node with an etcd endpoint nobody listens on: a node that got past its configuration would hang. One
 * at a time: each loads the whole node runtime first (most of a CPU second), and a loaded CI machine runs other tests.
 */
function runNode(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [NODE_BIN, ...args],
      { env: { ...process.env, GOVERSE_ETCD_ENDPOINTS: 'http://127.0.0.1:1', ...env }, timeout: 60_000 },
      (_err, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });
}

function yamlFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('goverse-node refuses bad configuration with exit code 2', () => {
  const durationForm = 'expected a duration such as 500ms, 10s, 1m';

  it.each<{ what: string; args: string[]; env: Record<string, string>; expected: string[] }>([
    {
      what: 'an unknown duration unit in the environment',
      args: [],
      env: { GOVERSE_STABILITY_DURATION: '10fortnights' },
      expected: ['env GOVERSE_STABILITY_DURATION', '"10fortnights"', durationForm],
    },
    {
      what: 'a negative shard count flag',
      args: ['--num-shards', '-5'],
      env: {},
      expected: ['flag --num-shards', '"-5"', 'expected an integer from 1 to 1048576'],
    },
    {
      what: 'a non-numeric environment value',
      args: [],
      env: { GOVERSE_NUM_SHARDS: 'abc' },
      expected: ['env GOVERSE_NUM_SHARDS', '"abc"', 'expected an integer from 1 to 1048576'],
    },
    {
      what: 'a shard count beyond 2^20 (an operator typo once ran for 68 s)',
      args: ['--num-shards', '81920000'],
      env: {},
      expected: ['flag --num-shards', '"81920000"', 'expected an integer from 1 to 1048576'],
    },
    {
      what: 'a longest pause beyond a year',
      args: [],
      env: { GOVERSE_MAX_PAUSE: '9000h' },
      expected: ['env GOVERSE_MAX_PAUSE', 'at most 8760h'],
    },
    {
      what: 'a lease TTL below its minimum',
      args: [],
      env: { GOVERSE_LEASE_TTL: '500ms' },
      expected: ['env GOVERSE_LEASE_TTL', 'in whole seconds, at least 2s'],
    },
  ])('$what', async ({ args, env, expected }) => {
    const { code, stderr } = await runNode(args, env);
    expect(code).toBe(2);
    for (const part of expected) expect(stderr).toContain(part);
  });

  it('a bad value in the YAML file names the file, the key and the line', async () => {
    const path = yamlFile('bad-value.yaml', 'cluster:\n  lease_ttl: 10 parsecs\n');
    const { code, stderr } = await runNode(['--config', path]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${path}:cluster.lease_ttl`);
    expect(stderr).toContain(durationForm);
    expect(stderr).toContain('line 2');
  });

  it('a TLS CA file that is not PEM names the file, before any connection is tried', async () => {
    const path = yamlFile('garbage-ca.pem', 'not a certificate\n');
    const { code, stderr } = await runNode([], { GOVERSE_ETCD_CACERT: path, GOVERSE_ETCD_TIMEOUT: '60s' });
    expect(code).toBe(2);
    expect(stderr).toContain(`etcd TLS CA file ${path}: holds no PEM certificate`);
  });

  it('a file that is not YAML names the file and the line', async () => {
    const path = yamlFile('not-yaml.yaml', 'cluster:\n  lease_ttl: [unclosed\n');
    const { code, stderr } = await runNode([], { GOVERSE_CONFIG: path });
    expect(code).toBe(2);
    expect(stderr).toMatch(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+: invalid YAML`));
  });

  it('an admin token shorter than 16 characters, without echoing it', async () => {
    const { code, stderr } = await runNode([], { GOVERSE_ADMIN_TOKEN: 'fifteen-chars!!' });
    expect(code).toBe(2);
    expect(stderr).toContain('env GOVERSE_ADMIN_TOKEN: invalid value (not shown): expected empty, or a token of at least 16 printable ASCII characters');
    expect(stderr).not.toContain('fifteen-chars!!');
  });

  it('a loopback listen address with an advertised address peers would dial in vain', async () => {
    const { code, stderr } = await runNode(['--listen', '127.0.0.1:48000', '--advertise', 'node1.internal:48000']);
    expect(code).toBe(2);
    expect(stderr).toContain(
      'flag --listen: listen address 127.0.0.1:48000 accepts loopback connections only, but the node advertises node1.internal:48000 (flag --advertise): ' +
        'peers and clients dialling it could not connect',
    );
  });

  it('a bad flag fails even when the environment holds a valid value for it', async () => {
    const { code, stderr } = await runNode(['--stuck-timeout', '-1s'], { GOVERSE_STUCK_TIMEOUT: '5s' });
    expect(code).toBe(2);
    expect(stderr).toContain('flag --stuck-timeout');
    expect(stderr).toContain('greater than 0');
  });
});
