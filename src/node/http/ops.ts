import { sendJson, sendText } from '../../edge/http/json.js';
import { Router } from '../../edge/http/server.js';
import type { NodeMetricsRegistry } from '../metrics.js';
import type { StoreHealth } from '../persistence/monitoredObjectStore.js';
import type { NodeReadiness } from '../readiness.js';

/**
 * Operations endpoints on `--http-listen`:
 *   GET /metrics  Prometheus text
 *   GET /healthz  200 {"status":"ok"} while the process runs
 *   GET /ready    200 or 503 with the readiness details; not latched (503 while draining, stopping, fenced, or while
 *                 object store writes keep failing)
 */
export function opsRouter(metrics: NodeMetricsRegistry, readiness: () => NodeReadiness, router: Router = new Router()): Router {
  return router
    .on('GET', '/metrics', async (_req, res) => sendText(res, 200, metrics.contentType, await metrics.metricsText()))
    .on('GET', '/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }))
    .on('GET', '/ready', (_req, res) => {
      const r = readiness();
      sendJson(res, r.ready ? 200 : 503, {
        status: r.ready ? 'ready' : 'not ready',
        etcd: r.etcd,
        synced: r.synced,
        registered: r.registered,
        phase: r.phase,
        draining: r.draining,
        shards: { claimed: r.claimed, targeted: r.targeted, ratio: `${r.claimed}/${r.targeted}` },
        storage: storageBody(r.storage),
        reasons: r.reasons,
      });
    });
}

function storageBody(h: StoreHealth): Record<string, unknown> {
  if (h.kind === 'ok') return { status: 'ok' };
  return { status: 'failing', since: new Date(h.since).toISOString(), op: h.op, code: h.code, failures: h.failures, error: h.message };
}
