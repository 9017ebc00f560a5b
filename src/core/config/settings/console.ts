import { configNodes } from '../configNodes.js';
import { bool, duration, list, oneOf, text } from '../valueTypes.js';
import { filePath, type SettingTable } from './spec.js';

/** A Prometheus base URL: scheme, host, optional port and path prefix; no user info, query or fragment. */
const PROMETHEUS_URL = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~%/-]*)?$|^https?:\/\/\[[0-9A-Fa-f:.]+\](:\d{1,5})?(\/[A-Za-z0-9._~%/-]*)?$/;

/** Logging (both binaries) and the console and scripted subcommands (groups `logging` and `console`). */
export const CONSOLE_SETTINGS = {
  logLevel: {
    group: 'logging',
    usedBy: 'both',
    type: oneOf(['debug', 'info', 'warn', 'error']),
    default: 'info',
    env: 'GOVERSE_LOG_LEVEL',
    flag: '--log-level',
    description: 'Least severe level logged.',
  },
  logFile: {
    group: 'logging',
    usedBy: 'both',
    type: filePath,
    default: '',
    defaultText: 'empty: stderr (goverse-top: no log)',
    env: 'GOVERSE_LOG_FILE',
    flag: '--log-file',
    description: 'Write JSON log lines to this file.',
  },
  eventLog: {
    group: 'logging',
    usedBy: 'node',
    type: filePath,
    default: '',
    defaultText: 'empty: none',
    env: 'GOVERSE_EVENT_LOG',
    flag: '--event-log',
    description: 'Append object activation and deactivation events to this file (used by tests).',
  },
  refresh: {
    group: 'console',
    usedBy: 'cli',
    type: duration({ positive: true, bareSeconds: true }),
    default: 2000,
    env: 'GOVERSE_REFRESH',
    flag: '--refresh',
    shortFlag: '-r',
    description: 'Console refresh interval (metrics scrapes; etcd changes show at once).',
  },
  readOnly: {
    group: 'console',
    usedBy: 'cli',
    type: bool(),
    default: false,
    env: 'GOVERSE_READ_ONLY',
    flag: '--read-only',
    description: 'Refuse every mutation; the console hides its write keys.',
  },
  noColor: {
    group: 'console',
    usedBy: 'cli',
    type: bool(),
    default: false,
    env: 'NO_COLOR',
    envPresence: true,
    flag: '--no-color',
    description: 'Plain output without colour; NO_COLOR set to anything non-empty does the same.',
  },
  metricsUrl: {
    group: 'console',
    usedBy: 'cli',
    type: list({
      expected: 'a URL template with {host} or {addr} such as http://{host}:8080/metrics, or a comma-separated list of http(s) URLs',
      item: (s) => /^https?:\/\/\S+$/.test(s),
      minItems: 0,
    }),
    default: [],
    defaultText: 'none: TypeScript nodes are found through nodeinfo',
    env: 'GOVERSE_METRICS_URL',
    flag: '--metrics-url',
    description: 'Where to scrape nodes that publish no nodeinfo (upstream nodes).',
  },
  configNodes: {
    group: 'console',
    usedBy: 'cli',
    type: configNodes,
    default: [],
    defaultText: 'none',
    yaml: 'nodes',
    description:
      "Upstream nodes to scrape, from the config file's node list (upstream's format): a node that publishes no nodeinfo and is registered as an entry's advertise_addr (else grpc_addr) is scraped at its http_addr (/metrics, /ready). A wildcard or empty host there means the node's own host; another host is not used (give --metrics-url).",
  },
  prometheusUrl: {
    group: 'console',
    usedBy: 'cli',
    type: text({
      expected: 'the http(s) URL of a Prometheus server, such as http://prometheus:9090 (a path prefix is kept; no query or fragment)',
      valid: (s) => s === '' || PROMETHEUS_URL.test(s),
    }),
    default: '',
    defaultText: 'none: the nodes are scraped',
    env: 'GOVERSE_PROMETHEUS_URL',
    flag: '--prometheus-url',
    description:
      "Read node metrics through this Prometheus server's query API instead of scraping the nodes (each node found by its instance label: see docs/CONSOLE.md).",
  },
  output: {
    group: 'console',
    usedBy: 'cli',
    type: oneOf(['table', 'json']),
    default: 'table',
    env: 'GOVERSE_OUTPUT',
    flag: '--output',
    shortFlag: '-o',
    description: 'Output format of scripted subcommands.',
  },
} satisfies SettingTable;
