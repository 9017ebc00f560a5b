/**
 * Private etcd processes for tests: one member or a loopback cluster, on free ports (never 2379/2380), with data
 * under SCRATCH_BASE. Members can be stopped, `kill -9`ed, restarted (same data dir and ports) or restarted with a
 * fresh data dir (a "wiped" etcd). Every process and dir is in the harness registry, so nothing outlives the run.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { managedTempDir, type ManagedProcess, removeManagedDir, spawnManaged } from './processes.js';
import { waitFor } from './waitFor.js';

export const ETCD_BIN = process.env.GOVERSE_ETCD_BIN ?? 'etcd';

const START_TIMEOUT_MS = 20_000;

/** Serve clients over TLS, requiring client certificates signed by `caFile` (see tls.ts for test certificates). */
export interface EtcdServerTls {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Presented by the harness's own health check. */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
}

export interface EtcdStartOptions {
  readonly tls?: EtcdServerTls;
}
const RESERVED_PORTS = new Set([2379, 2380]);

export class EtcdMember {
  private proc: ManagedProcess | null = null;
  private generation = 0;

  constructor(
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
    private readonly baseDir: string,
    private readonly cluster: () => { initialCluster: string; token: string },
    private readonly tls: EtcdServerTls | undefined,
  ) {}

  private get clientUrl(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.clientPort}`;
  }

  /** `127.0.0.1:<client port>`, the form EtcdClientOptions.endpoints takes. */
  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  get dataDir(): string {
    return join(this.baseDir, `${this.name}.data.${this.generation}`);
  }

  get pid(): number | null {
    return this.proc?.running ? this.proc.pid : null;
  }

  /** Starts the process (keeping data dir and ports) and waits until it reports healthy. */
  async start(options: { waitHealthy?: boolean } = {}): Promise<void> {
    if (this.running) throw new Error(`etcd ${this.name} is already running`);
    const { initialCluster, token } = this.cluster();
    const proc = spawnManaged(
      `etcd ${this.name}`,
      ETCD_BIN,
      [
        `--name=${this.name}`,
        `--data-dir=${this.dataDir}`,
        `--listen-client-urls=${this.clientUrl}`,
        `--advertise-client-urls=${this.clientUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${this.peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${this.peerPort}`,
        `--initial-cluster=${initialCluster}`,
        `--initial-cluster-token=${token}`,
        '--initial-cluster-state=new',
        '--heartbeat-interval=10',
        '--election-timeout=100',
        '--logger=zap',
        '--log-outputs=stderr',
        '--log-level=warn',
        ...(this.tls
          ? [`--cert-file=${this.tls.certFile}`, `--key-file=${this.tls.keyFile}`, `--trusted-ca-file=${this.tls.caFile}`, '--client-cert-auth']
          : []),
      ],
      { logFile: join(this.baseDir, `${this.name}.log`) },
    );
    this.proc = proc;
    if (options.waitHealthy === false) return;
    await this.waitHealthy();
  }

  async waitHealthy(): Promise<void> {
    const proc = this.proc;
    if (proc === null) throw new Error(`etcd ${this.name} was never started`);
    await waitFor(
      `etcd ${this.name} on ${this.endpoint} to be healthy`,
      async () => {
        if (!proc.running) {
          throw new EtcdExitedError(`etcd ${this.name} exited during start-up; output:\n${proc.output()}`);
        }
        return healthy(this.clientPort, this.tls);
      },
      { timeoutMs: START_TIMEOUT_MS, intervalMs: 20, describe: () => `output:\n${proc.output().slice(-2000)}` },
    );
  }

  /** Graceful stop (SIGTERM); the data dir stays for a restart. */
  async stop(): Promise<void> {
    await this.proc?.stop('SIGTERM');
  }

  /** `kill -9`: no chance to flush or say goodbye. */
  async kill(): Promise<void> {
    await this.proc?.kill();
  }

  /** Starts again with the same data dir and ports (stops first if running). */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Kills the process and starts a brand-new etcd (fresh data dir, revision 1) on the same ports. */
  async restartWithFreshData(): Promise<void> {
    await this.kill();
    this.generation++;
    await this.start();
  }

  /** The process's recent output, for failure messages. */
  output(): string {
    return this.proc?.output() ?? '';
  }
}

export class EtcdExitedError extends Error {}

export class EtcdCluster {
  constructor(
    readonly members: readonly EtcdMember[],
    private readonly baseDir: string,
  ) {}

  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  member(index = 0): EtcdMember {
    const m = this.members[index];
    if (m === undefined) throw new Error(`etcd cluster has ${this.members.length} members; no member ${index}`);
    return m;
  }

  /** Kills every member and removes the data. */
  async close(): Promise<void> {
    await Promise.all(this.members.map((m) => m.kill()));
    removeManagedDir(this.baseDir);
  }
}

/** Starts a single private etcd. */
export function startEtcd(label = 'etcd', options: EtcdStartOptions = {}): Promise<EtcdCluster> {
  return startEtcdCluster(1, label, options);
}

/** Starts `size` members on loopback and waits until the cluster has a leader. */
export async function startEtcdCluster(size = 3, label = 'etcd', options: EtcdStartOptions = {}): Promise<EtcdCluster> {
  // A port picked as free can be taken by someone else before etcd binds it: try again with new ports.
  for (let attempt = 1; ; attempt++) {
    const baseDir = managedTempDir(label);
    const ports = await freePorts(size * 2);
    const token = `goverse-test-${process.pid}-${Date.now()}-${attempt}`;
    const members: EtcdMember[] = [];
    const initialCluster = (): { initialCluster: string; token: string } => ({
      initialCluster: members.map((m) => `${m.name}=http://127.0.0.1:${m.peerPort}`).join(','),
      token,
    });
    for (let i = 0; i < size; i++) {
      members.push(new EtcdMember(`m${i}`, ports[2 * i]!, ports[2 * i + 1]!, baseDir, initialCluster, options.tls));
    }
    const cluster = new EtcdCluster(members, baseDir);
    try {
      await Promise.all(members.map((m) => m.start({ waitHealthy: false })));
      await Promise.all(members.map((m) => m.waitHealthy()));
      return cluster;
    } catch (err) {
      await cluster.close();
      const portClash = err instanceof EtcdExitedError && /address already in use/.test(err.message);
      if (!portClash || attempt >= 3) throw err;
    }
  }
}

export async function freePorts(count: number): Promise<number[]> {
  const servers = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const server = createServer();
      servers.push(server);
      const port = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
      });
      if (!RESERVED_PORTS.has(port)) ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

function healthy(port: number, tls: EtcdServerTls | undefined): Promise<boolean> {
  const request = tls ? httpsRequest : httpRequest;
  const credentials = tls && {
    ca: readFileSync(tls.caFile),
    cert: readFileSync(tls.clientCertFile),
    key: readFileSync(tls.clientKeyFile),
  };
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', timeout: 1000, ...credentials }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"health":"true"')));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
