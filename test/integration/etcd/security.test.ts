import { Etcd3 } from 'etcd3';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, UnavailableError } from '../../../src/core/errors.js';
import { createEtcdClient, type EtcdClient } from '../../../src/edge/etcd/client.js';
import { type EtcdCluster, startEtcd } from '../../harness/etcd.js';
import { removeManagedDir } from '../../harness/processes.js';
import { makeTestCertificates } from '../../harness/tls.js';

const cleanups: (() => Promise<void> | void)[] = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function track<T extends EtcdClient | EtcdCluster>(x: T): T {
  cleanups.push(() => x.close());
  return x;
}

describe('EtcdClient security options', () => {
  it('talks TLS with a client certificate, and fails clearly without one', async () => {
    const certs = makeTestCertificates();
    cleanups.push(() => removeManagedDir(certs.dir));
    const etcd = track(await startEtcd('tls', { tls: certs }));
    const client = track(
      createEtcdClient({
        endpoints: etcd.endpoints.map((e) => `https://${e}`),
        tls: { caFile: certs.caFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile },
      }),
    );
    const { revision } = await client.put('/tls/key', 'v');
    expect(await client.get('/tls/key')).toMatchObject({ value: 'v', modRevision: revision });

    const noClientCert = track(createEtcdClient({ endpoints: etcd.endpoints, tls: { caFile: certs.caFile }, callTimeoutMs: 1000 }));
    const err = await noClientCert.get('/tls/key').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    // The handshake failure is named, even when the circuit breaker has opened meanwhile.
    expect((err as Error).message).toMatch(/certificate/);
  });

  it('authenticates with user and password, and rejects a wrong password as a config error', async () => {
    const etcd = track(await startEtcd('auth'));
    // Setting up users is an admin task outside our interface: use etcd3 directly.
    const admin = new Etcd3({ hosts: etcd.endpoints });
    await admin.role('root').create();
    await (await admin.user('root').create('s3cret')).addRole('root');
    await admin.auth.authEnable();
    admin.close();

    const client = track(createEtcdClient({ endpoints: etcd.endpoints, auth: { username: 'root', password: 's3cret' } }));
    await client.put('/auth/key', 'v');
    expect((await client.get('/auth/key'))?.value).toBe('v');

    const wrong = track(createEtcdClient({ endpoints: etcd.endpoints, auth: { username: 'root', password: 'nope' } }));
    const err = await wrong.get('/auth/key').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).retriable).toBe(false);
    expect((err as ConfigError).message).toMatch(/etcd credentials.*authentication failed/);
  });
});
