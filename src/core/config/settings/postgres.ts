import { DEFAULT_POSTGRES_PORT, parsePostgresUrl, POSTGRES_SSL_MODES, POSTGRES_URL_FORM } from '../postgres.js';
import { integer, oneOf, text } from '../valueTypes.js';
import { filePath, type SettingTable } from './spec.js';

const anyText = text({ expected: 'any text', valid: () => true });
const CHOSEN = 'Read when the objects are in PostgreSQL (a postgres.host or --postgres-url).';

/**
 * The PostgreSQL object store (group `node`): upstream's YAML `postgres:` block, or one URL. Either selects it;
 * without them the node keeps its objects in SQLite.
 */
export const POSTGRES_SETTINGS = {
  postgresUrl: {
    group: 'node',
    usedBy: 'node',
    type: text({ expected: `empty or ${POSTGRES_URL_FORM}`, valid: (s) => s === '' || parsePostgresUrl(s).ok }),
    default: '',
    defaultText: 'empty: the postgres block, else SQLite',
    env: 'GOVERSE_POSTGRES_URL',
    flag: '--postgres-url',
    secret: true,
    description:
      'PostgreSQL database of object state, shared by every node of the cluster on every machine (docs/PERSISTENCE.md). Instead of the YAML postgres block, not with it. ' +
      'A password in the URL of a flag shows in the process list and the shell history (a warning says so): give it with GOVERSE_POSTGRES_PASSWORD or --postgres-password-file.',
  },
  postgresHost: {
    group: 'node',
    usedBy: 'node',
    type: text({ expected: 'a host name or IP address', valid: (s) => /^[^\s/?#@]*$/.test(s) }),
    default: '',
    defaultText: 'empty: no PostgreSQL',
    env: 'GOVERSE_POSTGRES_HOST',
    yaml: 'postgres.host',
    description: 'PostgreSQL server (upstream\'s key); setting it keeps the objects in PostgreSQL instead of SQLite.',
  },
  postgresPort: {
    group: 'node',
    usedBy: 'node',
    type: integer({ min: 1, max: 65535 }),
    default: DEFAULT_POSTGRES_PORT,
    env: 'GOVERSE_POSTGRES_PORT',
    yaml: 'postgres.port',
    description: `PostgreSQL server port. ${CHOSEN}`,
  },
  postgresUser: {
    group: 'node',
    usedBy: 'node',
    type: anyText,
    default: '',
    defaultText: 'empty: the operating system user',
    env: 'GOVERSE_POSTGRES_USER',
    yaml: 'postgres.user',
    description: `PostgreSQL user. ${CHOSEN}`,
  },
  postgresPassword: {
    group: 'node',
    usedBy: 'node',
    type: anyText,
    default: '',
    env: 'GOVERSE_POSTGRES_PASSWORD',
    yaml: 'postgres.password',
    secret: true,
    description: `PostgreSQL password (environment or YAML; never a flag). ${CHOSEN}`,
  },
  postgresPasswordFile: {
    group: 'node',
    usedBy: 'node',
    type: filePath,
    default: '',
    env: 'GOVERSE_POSTGRES_PASSWORD_FILE',
    flag: '--postgres-password-file',
    description: 'File holding the PostgreSQL password (one trailing newline is ignored; at most 4 KiB). Not with a password given another way.',
  },
  postgresDatabase: {
    group: 'node',
    usedBy: 'node',
    type: anyText,
    default: '',
    defaultText: 'empty: the server\'s default (the user\'s name)',
    env: 'GOVERSE_POSTGRES_DATABASE',
    yaml: 'postgres.database',
    description: `PostgreSQL database; one database per cluster (it records its cluster and refuses other clusters' nodes). ${CHOSEN}`,
  },
  postgresSslmode: {
    group: 'node',
    usedBy: 'node',
    type: oneOf(POSTGRES_SSL_MODES),
    default: 'disable',
    env: 'GOVERSE_POSTGRES_SSLMODE',
    yaml: 'postgres.sslmode',
    description:
      'TLS to PostgreSQL, as libpq names it: `require` encrypts, `verify-ca` also checks the server certificate against the system CAs, `verify-full` its host name too. ' +
      'A URL sets it with ?sslmode=. A database beyond loopback without TLS is warned about at start.',
  },
  postgresMaxOpenConns: {
    group: 'node',
    usedBy: 'node',
    type: integer({ min: 1, max: 1000 }),
    default: 4,
    env: 'GOVERSE_POSTGRES_MAX_OPEN_CONNS',
    yaml: 'postgres.max_open_conns',
    flag: '--postgres-max-open-conns',
    description:
      'Connections to PostgreSQL open at once at most (upstream\'s pool key): object writes commit one group at a time on one connection; ' +
      'the others serve the store probe, the cluster check and waiting groups after a connection broke.',
  },
  postgresMaxIdleConns: {
    group: 'node',
    usedBy: 'node',
    type: integer({ min: 0, max: 1000 }),
    default: 2,
    env: 'GOVERSE_POSTGRES_MAX_IDLE_CONNS',
    yaml: 'postgres.max_idle_conns',
    flag: '--postgres-max-idle-conns',
    description: 'Idle connections kept open for the next write at most (upstream\'s pool key); more are closed when released. At most max_open_conns.',
  },
} satisfies SettingTable;
