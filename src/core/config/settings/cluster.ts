import { isEtcdEndpoint } from '../addresses.js';
import { integer, list, text } from '../valueTypes.js';
import { filePath, isPrefix, positiveDuration, type SettingTable } from './spec.js';

/** Most shards a cluster may have: 2^20, room for resharding and for consoles of 65,536 shards; beyond is a typo. */
export const MAX_SHARDS = 1_048_576;

const anyText = text({ expected: 'any text', valid: () => true });

/** The cluster: its shard count and how to reach its etcd (group `cluster`). */
export const CLUSTER_SETTINGS = {
  numShards: {
    group: 'cluster',
    usedBy: 'both',
    type: integer({ min: 1, max: MAX_SHARDS }),
    default: 8192,
    env: 'GOVERSE_NUM_SHARDS',
    yaml: 'cluster.shards',
    flag: '--num-shards',
    description:
      "Number of shards objects hash into. The cluster's record (<prefix>/shard-count) decides: the first goverse-node of a new cluster writes it with this count; an explicit count that disagrees with it stops a process (exit 2), the default follows it.",
  },
  etcdEndpoints: {
    group: 'cluster',
    usedBy: 'both',
    type: list({
      expected: 'a comma-separated list of etcd endpoints host:port (an http:// or https:// prefix is allowed)',
      item: isEtcdEndpoint,
      minItems: 1,
    }),
    default: ['127.0.0.1:2379'],
    env: 'GOVERSE_ETCD_ENDPOINTS',
    yaml: 'cluster.etcd.endpoints',
    flag: '--etcd',
    description: 'etcd endpoints; calls fail over between them (upstream uses only the first).',
  },
  etcdPrefix: {
    group: 'cluster',
    usedBy: 'both',
    type: text({
      expected: 'a key prefix starting with / and not ending with /, such as /goverse',
      valid: isPrefix,
    }),
    default: '/goverse',
    env: 'GOVERSE_ETCD_PREFIX',
    yaml: 'cluster.etcd.prefix',
    flag: '--etcd-prefix',
    description: 'Key prefix of the cluster in etcd.',
  },
  etcdCaFile: {
    group: 'cluster',
    usedBy: 'both',
    type: filePath,
    default: '',
    env: 'GOVERSE_ETCD_CACERT',
    yaml: 'cluster.etcd.tls.ca_file',
    flag: '--cacert',
    description: 'PEM file of the CA that signed the etcd server certificates; setting it turns TLS on.',
  },
  etcdCertFile: {
    group: 'cluster',
    usedBy: 'both',
    type: filePath,
    default: '',
    env: 'GOVERSE_ETCD_CERT',
    yaml: 'cluster.etcd.tls.cert_file',
    flag: '--cert',
    description: 'Client certificate (PEM) for etcd servers that require client authentication; needs the key.',
  },
  etcdKeyFile: {
    group: 'cluster',
    usedBy: 'both',
    type: filePath,
    default: '',
    env: 'GOVERSE_ETCD_KEY',
    yaml: 'cluster.etcd.tls.key_file',
    flag: '--key',
    description: 'Private key (PEM) of the client certificate.',
  },
  etcdUser: {
    group: 'cluster',
    usedBy: 'both',
    type: text({ expected: 'user or user:password', valid: (s) => s === '' || /^[^:]+(:.*)?$/s.test(s) }),
    default: '',
    env: 'GOVERSE_ETCD_USER',
    flag: '--user',
    secret: true,
    description:
      'etcd user name; `user:password` also sets the password, but a password in a flag shows in the process list and the shell history (a warning says so): prefer GOVERSE_ETCD_PASSWORD or --password-file.',
  },
  etcdPassword: {
    group: 'cluster',
    usedBy: 'both',
    type: anyText,
    default: '',
    env: 'GOVERSE_ETCD_PASSWORD',
    secret: true,
    description: 'etcd password. Environment only, so it never shows in a process list.',
  },
  etcdPasswordFile: {
    group: 'cluster',
    usedBy: 'both',
    type: filePath,
    default: '',
    env: 'GOVERSE_ETCD_PASSWORD_FILE',
    yaml: 'cluster.etcd.password_file',
    flag: '--password-file',
    description:
      'File holding the etcd password (one trailing newline is ignored; at most 4 KiB), for secrets mounted as files. Not with a password given another way.',
  },
  etcdTimeout: {
    group: 'cluster',
    usedBy: 'both',
    type: positiveDuration,
    default: 5000,
    env: 'GOVERSE_ETCD_TIMEOUT',
    yaml: 'cluster.etcd.timeout',
    flag: '--timeout',
    description: 'Deadline of each etcd call, and of connecting when no connection is up.',
  },
} satisfies SettingTable;
