import type { Readiness } from '../../cluster/member.js';
import { sendJson, sendText } from '../../edge/http/json.js';
import { Router } from '../../edge/http/server.js';
import type { NodeMetrics } from '../metrics.js';

/**
 * Operations endpoints on `--http-listen`:
 *   GET /metrics  Prometheus text
 *   GET /healthz  200 {"status":"ok"} while the process runs
 *   GET /ready    200 or 503 with the readiness details; not latched (503 while draining, stopping or fenced)
 */
export function opsRouter(metrics: NodeMetrics, readiness: () => Readiness, router: Router = new Router()): Router {
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
        reasons: r.reasons,
      });
    });
}
