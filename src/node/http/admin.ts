import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Clock } from '../../core/clock.js';
import { parseDuration } from '../../core/duration.js';
import { InvalidArgumentError, UnauthenticatedError } from '../../core/errors.js';
import { type OperationRequest, planOperation, type Refusals } from '../../core/operations/operations.js';
import { parseShardList } from '../../core/operations/shardList.js';
import type { ClusterSnapshot } from '../../core/snapshot/snapshot.js';
import type { BodyBudget } from '../../edge/http/bodyBudget.js';
import { readJsonObject, sendJson } from '../../edge/http/json.js';
import { Router } from '../../edge/http/server.js';
import type { ClusterOperations } from '../../edge/operations/clusterOperations.js';

const BODY_LIMIT = 64 * 1024;

export interface AdminApiOptions {
  /** At least 16 characters (the settings refuse a shorter one). */
  readonly token: string;
  readonly bodies: BodyBudget;
  readonly operations: ClusterOperations;
  readonly snapshot: () => ClusterSnapshot;
  readonly clock: Clock;
  /** Recorded as `by` in the records an operation writes. */
  readonly by: string;
  /** Longest pause of rebalancing accepted (GOVERSE_MAX_PAUSE); a longer one is a 400. */
  readonly maxPauseMs: number;
}

/**
 * The admin API (the user asked for an HTTP endpoint for pinning): the core operations over HTTP, each
 * `POST /admin/v1/<operation>` with a JSON body, answered with the operation result (key, old, new, ModRevision per
 * change). Requires `Authorization: Bearer <GOVERSE_ADMIN_TOKEN>`; the server binds to loopback unless told otherwise.
 *   shards/pin, shards/unpin {shards}          shards/retarget {shards, to?, force?}   shards/release {shards, force?}
 *   nodes/drain, nodes/undrain {node}          rebalance/pause {for, reason?}          rebalance/resume {}
 * Every body accepts `dryRun: true`.
 */
export function adminRouter(options: AdminApiOptions): Router {
  const router = new Router();
  const expected = digest(options.token);
  const limits = { maxBytes: BODY_LIMIT, budget: options.bodies };
  const route = (path: string, decode: (body: Record<string, unknown>, snapshot: ClusterSnapshot) => OperationRequest): void => {
    router.on('POST', `/admin/v1/${path}`, async (req, res) => {
      authenticate(req, expected);
      const body = await readJsonObject(req, limits);
      const snapshot = options.snapshot();
      const plan = planOperation(decode(body, snapshot), { snapshot, now: options.clock.now(), by: options.by, maxPauseMs: options.maxPauseMs });
      const result = await options.operations.execute(plan, { dryRun: body.dryRun === true });
      sendJson(res, result.conflicts > 0 ? 409 : result.failed > 0 ? 502 : 200, result);
    });
  };
  route('shards/pin', (b, snapshot) => ({ kind: 'pin', shards: shardsField(b, snapshot) }));
  route('shards/unpin', (b, snapshot) => ({ kind: 'unpin', shards: shardsField(b, snapshot) }));
  route('shards/retarget', (b, snapshot) => {
    if (b.to !== undefined && (typeof b.to !== 'string' || b.to === '')) throw new InvalidArgumentError('field "to" must be a node address');
    return { kind: 'retarget', shards: shardsField(b, snapshot), to: (b.to as string | undefined) ?? null, refusals: refusalsField(b) };
  });
  route('shards/release', (b, snapshot) => ({ kind: 'release', shards: shardsField(b, snapshot), refusals: refusalsField(b) }));
  route('nodes/drain', (b) => ({ kind: 'drain', node: nodeField(b) }));
  route('nodes/undrain', (b) => ({ kind: 'undrain', node: nodeField(b) }));
  route('rebalance/pause', (b) => {
    if (typeof b.for !== 'string') throw new InvalidArgumentError('field "for" must be a duration such as "10m"');
    return { kind: 'pause', forMs: parseDuration(b.for), reason: typeof b.reason === 'string' ? b.reason : '' };
  });
  route('rebalance/resume', () => ({ kind: 'resume' }));
  return router;
}

function shardsField(body: Record<string, unknown>, snapshot: ClusterSnapshot): number[] {
  const v = body.shards;
  if (typeof v === 'string') return parseShardList(v, snapshot.numShards);
  if (Array.isArray(v) && v.every((x) => Number.isInteger(x))) return parseShardList(v.join(','), snapshot.numShards);
  throw new InvalidArgumentError('field "shards" must be a list such as "1,5,10-20" or an array of shard IDs');
}

function nodeField(body: Record<string, unknown>): string {
  if (typeof body.node !== 'string' || body.node === '') throw new InvalidArgumentError('field "node" must be a node address');
  return body.node;
}

/** `force: true` overrides the refusals; anything else keeps them. */
function refusalsField(body: Record<string, unknown>): Refusals {
  return body.force === true ? 'override' : 'refuse';
}

const CHALLENGE = 'Bearer realm="goverse-admin"';

/**
 * Compares digests, not the tokens: both sides are 32 bytes whatever was sent, so neither the comparison's time nor
 * a length check tells a caller anything about the token's length or content.
 */
function authenticate(req: IncomingMessage, expected: Buffer): void {
  const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? '');
  if (m === null) throw new UnauthenticatedError('admin API: missing bearer token (send "Authorization: Bearer <token>")', CHALLENGE);
  if (!timingSafeEqual(digest(m[1]!), expected)) {
    throw new UnauthenticatedError('admin API: wrong bearer token', `${CHALLENGE}, error="invalid_token"`);
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
