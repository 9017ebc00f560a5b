import { memberAddressProblem } from '../../keyspace/nodeAddress.js';
import { advertiseFor, isListenAddress } from '../addresses.js';
import { bool, decimal, duration, integer, oneOf, text } from '../valueTypes.js';
import { filePath, isPrefix, type SettingTable } from './spec.js';

/** A shorter admin token is refused at start: it could be guessed. */
export const ADMIN_TOKEN_MIN_LENGTH = 16;

const listenAddress = text({ expected: 'a listen address host:port such as :48000 or 127.0.0.1:48000', valid: isListenAddress });

/** One goverse-node process: addresses, identity, object database, admin API, HTTP limits (group `node`). */
export const NODE_SETTINGS = {
  listen: {
    group: 'node',
    usedBy: 'node',
    type: listenAddress,
    default: ':48000',
    env: 'GOVERSE_LISTEN',
    yaml: 'nodes[].grpc_addr',
    flag: '--listen',
    description:
      'Address of the object API (HTTP); upstream calls it the gRPC address. All interfaces by default, so that peers on other machines reach it; ' +
      'the API has no authentication, and a start-up warning says so when it is reachable beyond loopback.',
  },
  advertise: {
    group: 'node',
    usedBy: 'node',
    type: text({
      expected: 'a host:port other processes can dial, such as node1.internal:48000 (printable ASCII, at most 255 characters)',
      valid: (s) => memberAddressProblem(s) === null,
    }),
    derive: (c) => advertiseFor(c.listen),
    defaultText: 'listen, with a wildcard host replaced by localhost',
    env: 'GOVERSE_ADVERTISE',
    yaml: 'nodes[].advertise_addr',
    flag: '--advertise',
    description:
      'Address this node registers in etcd and shard values; peers and clients dial it. A node listening on loopback only must advertise a loopback address (exit 2 otherwise).',
  },
  httpListen: {
    group: 'node',
    usedBy: 'node',
    type: text({ expected: 'empty or a listen address host:port such as :8080', valid: (s) => s === '' || isListenAddress(s) }),
    default: '',
    defaultText: 'empty: no operations server',
    env: 'GOVERSE_HTTP_LISTEN',
    yaml: 'nodes[].http_addr',
    flag: '--http-listen',
    description: 'Operations server: /metrics, /healthz, /ready.',
  },
  nodeId: {
    group: 'node',
    usedBy: 'node',
    type: text({ expected: 'a node ID without white space', valid: (s) => /^\S+$/.test(s) }),
    derive: (c) => c.advertise,
    defaultText: 'the advertise address',
    env: 'GOVERSE_NODE_ID',
    yaml: 'nodes[].id',
    flag: '--node-id',
    description: 'Node identity; with a config file it selects the `nodes` entry (optional when there is one entry).',
  },
  weight: {
    group: 'node',
    usedBy: 'node',
    type: decimal({ min: 0 }),
    default: 1,
    env: 'GOVERSE_NODE_WEIGHT',
    yaml: 'nodes[].weight',
    flag: '--weight',
    description: 'Capacity relative to other nodes; weighted and load strategies give it a proportional share.',
  },
  dbPath: {
    group: 'node',
    usedBy: 'node',
    type: filePath,
    default: '',
    defaultText: 'goverse/{prefix}.sqlite in $XDG_STATE_HOME, else in ~/.local/state',
    env: 'GOVERSE_DB_PATH',
    flag: '--db',
    description:
      'SQLite database of object state, shared by the nodes of one cluster on one machine; it records its cluster and refuses other clusters\' nodes. ' +
      'The default folder is created 0700, database files 0600. A path in the tmp directory is warned about: it is wiped on reboot.',
  },
  dbAdoptCluster: {
    group: 'node',
    usedBy: 'node',
    type: text({ expected: 'empty or the etcd prefix of the cluster the database belongs to, such as /old', valid: (s) => s === '' || isPrefix(s) }),
    default: '',
    defaultText: 'empty: refuse another cluster\'s database',
    env: 'GOVERSE_DB_ADOPT_CLUSTER',
    flag: '--db-adopt-cluster',
    description:
      'Move the database from the cluster named here to this node\'s cluster (a deliberate move, logged); a database of any other cluster is still refused. Harmless once moved.',
  },
  dbDisposable: {
    group: 'node',
    usedBy: 'node',
    type: bool(),
    default: false,
    env: 'GOVERSE_DB_DISPOSABLE',
    description: 'The database is deleted after this run (the demo\'s private store): no warning for a path in the tmp directory.',
  },
  dbSynchronous: {
    group: 'node',
    usedBy: 'node',
    type: oneOf(['full', 'normal']),
    default: 'full',
    env: 'GOVERSE_DB_SYNCHRONOUS',
    flag: '--db-synchronous',
    description:
      'SQLite sync policy. `full`: every commit reaches the disk before the reply (acknowledged writes survive power loss). ' +
      '`normal`: survives a process crash (kill -9) but an OS crash or power loss can lose the last commits; much faster on slow-fsync disks.',
  },
  dbGroupMaxSize: {
    group: 'node',
    usedBy: 'node',
    type: integer({ min: 1, max: 10_000 }),
    default: 64,
    env: 'GOVERSE_DB_GROUP_MAX_SIZE',
    yaml: 'nodes[].db_group_max_size',
    flag: '--db-group-max-size',
    description:
      'Group commit: object writes (saves, deletes, activations) committed in one transaction at most. Writes that arrive while a commit runs share the next one, ' +
      'and each call is answered once its transaction is durable. It bounds the memory of a transaction and how long it holds the write lock against the ' +
      'other processes sharing the database; 64 writes share an fsync well enough. 1 commits every write alone.',
  },
  dbGroupMaxWait: {
    group: 'node',
    usedBy: 'node',
    type: duration({ max: 1000 }),
    default: 0,
    defaultText: '0: no wait',
    env: 'GOVERSE_DB_GROUP_MAX_WAIT',
    yaml: 'nodes[].db_group_max_wait',
    flag: '--db-group-max-wait',
    description:
      'Group commit: how long the first write of a group may wait for more to join before it commits (unless the group is full). ' +
      'At 0 a write on an idle node commits at once and only writes arriving during a commit wait for the next one; a longer wait adds that much latency to every write.',
  },
  adminToken: {
    group: 'node',
    usedBy: 'node',
    type: text({
      expected: `empty, or a token of at least ${ADMIN_TOKEN_MIN_LENGTH} printable ASCII characters without spaces`,
      valid: (s) => s === '' || (s.length >= ADMIN_TOKEN_MIN_LENGTH && /^[\x21-\x7e]+$/.test(s)),
    }),
    default: '',
    defaultText: 'empty: no admin API',
    env: 'GOVERSE_ADMIN_TOKEN',
    secret: true,
    description: 'Bearer token of the admin API; setting it starts the API. Environment only.',
  },
  adminListen: {
    group: 'node',
    usedBy: 'node',
    type: listenAddress,
    default: '127.0.0.1:0',
    env: 'GOVERSE_ADMIN_LISTEN',
    flag: '--admin-listen',
    description: 'Address of the admin API (pin, retarget, release, drain, pause); loopback unless told otherwise.',
  },
  maxConnections: {
    group: 'node',
    usedBy: 'node',
    type: integer({ min: 1 }),
    default: 1000,
    env: 'GOVERSE_MAX_CONNECTIONS',
    yaml: 'nodes[].max_connections',
    flag: '--max-connections',
    description: 'Connections each HTTP server of the node (object API, operations, admin) keeps open at once; it closes the next one as soon as it is accepted.',
  },
  maxBodyBuffer: {
    group: 'node',
    usedBy: 'node',
    type: integer({ min: 2 * 1024 * 1024 }),
    default: 64 * 1024 * 1024,
    defaultText: '67108864 (64 MiB)',
    env: 'GOVERSE_MAX_BODY_BUFFER',
    yaml: 'nodes[].max_body_buffer',
    flag: '--max-body-buffer',
    description:
      'Bytes of request bodies the node buffers at once, across all connections; a request beyond it is refused with a retriable 503. ' +
      'Bodies over 64 KiB or of unknown length share half of it, so large uploads cannot lock out small calls.',
  },
  testDisableFencing: {
    group: 'node',
    usedBy: 'node',
    type: bool(),
    default: false,
    env: 'GOVERSE_TEST_DISABLE_FENCING',
    description:
      'TEST ONLY, never set it in a real cluster: turns the time-based fence off, so a node frozen or cut off from etcd keeps serving ' +
      'until etcd says its lease is gone, while other nodes may already have claimed its shards (the node logs an error at start). ' +
      'It exists so the chaos suite can show that its checker catches the double activations this causes. Environment only.',
  },
} satisfies SettingTable;
