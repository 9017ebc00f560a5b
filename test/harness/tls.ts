/** Throwaway certificates for TLS tests: a CA, a server certificate for 127.0.0.1 and a client certificate. */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EtcdServerTls } from './etcd.js';
import { managedTempDir } from './processes.js';

export interface TestCertificates extends EtcdServerTls {
  readonly dir: string;
}

export function makeTestCertificates(): TestCertificates {
  const dir = managedTempDir('certs');
  const path = (name: string): string => join(dir, name);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe' });
  const key = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...key, '-keyout', path('ca.key'), '-out', path('ca.pem'), '-days', '1', '-subj', '/CN=goverse-test-ca');
  writeFileSync(path('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const who of ['server', 'client']) {
    openssl('req', ...key, '-keyout', path(`${who}.key`), '-out', path(`${who}.csr`), '-subj', `/CN=goverse-test-${who}`);
    openssl(
      'x509', '-req', '-in', path(`${who}.csr`), '-CA', path('ca.pem'), '-CAkey', path('ca.key'), '-CAcreateserial',
      '-out', path(`${who}.pem`), '-days', '1', '-extfile', path('san.ext'),
    );
  }
  return {
    dir,
    caFile: path('ca.pem'),
    certFile: path('server.pem'),
    keyFile: path('server.key'),
    clientCertFile: path('client.pem'),
    clientKeyFile: path('client.key'),
  };
}
