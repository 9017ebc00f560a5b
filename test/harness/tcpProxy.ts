/**
 * A loopback TCP proxy that a test can "partition": `block()` drops every connection and refuses new ones until
 * `unblock()`. Put it between one client and etcd to cut that client off while others keep writing.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private blocked = false;
  private listenPort = 0;

  private constructor(
    private readonly targetPort: number,
    private readonly targetHost: string,
  ) {
    this.server = createServer((inbound) => this.accept(inbound));
  }

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort, targetHost);
    proxy.listenPort = await new Promise<number>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => resolve((proxy.server.address() as { port: number }).port));
    });
    return proxy;
  }

  get port(): number {
    return this.listenPort;
  }

  get endpoint(): string {
    return `127.0.0.1:${this.listenPort}`;
  }

  /** Drops every proxied connection and refuses new ones. */
  block(): void {
    this.blocked = true;
    for (const s of this.sockets) s.destroy();
  }

  unblock(): void {
    this.blocked = false;
  }

  async close(): Promise<void> {
    this.block();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(inbound: Socket): void {
    if (this.blocked) {
      inbound.destroy();
      return;
    }
    const outbound = connect(this.targetPort, this.targetHost);
    for (const [a, b] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      this.sockets.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        this.sockets.delete(a);
        b.destroy();
      });
    }
  }
}
