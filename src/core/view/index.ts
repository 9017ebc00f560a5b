/**
 * The console data model (pure): an etcd snapshot plus the nodes' scraped metrics, merged into one pre-aggregated
 * view that the Ink console and the scripted subcommands both render.
 *
 * Flow: `metricsTargets` says what to scrape; the edge scraper fetches; `summarizeScrape` condenses each scrape once
 * (rates against the previous summary); `buildClusterView` merges the snapshot with the summaries, cheaply enough to
 * run on every snapshot change.
 */
export { type BalancerInput, type BalancerView } from './balancer.js';
export { buildClusterView } from './clusterView.js';
export { type LocateAnswer, locateObject, type LocateTransition } from './locate.js';
export { MALFORMED_LISTED, malformedIn, malformedListing, SHARD_DIRS } from './malformed.js';
export {
  type ClusterView,
  type HotShardView,
  type MetricsStatus,
  type NodeStatus,
  type NodeView,
  type ShardColumns,
  type ShardCounts,
  type ShardFilter,
  type ShardRow,
  type ViewInput,
} from './clusterViewTypes.js';
export {
  configuredBaseUrl,
  expandTemplate,
  identifyNode,
  type MetricsSources,
  metricsTargets,
  opsMetricsUrl,
  parseMetricsSources,
  type ScrapeTarget,
  type TargetPlan,
} from './metricsTargets.js';
export {
  type DecisionCount,
  type HotShardFigures,
  latestFigures,
  type NodeFigures,
  type NodeMetrics,
  type NodeMetricsOk,
  type ScrapeOutcome,
  summarizeScrape,
} from './nodeMetrics.js';
export {
  decodeVector,
  type InstanceMapping,
  mapInstances,
  MAX_SERIES,
  PROMETHEUS_QUERIES,
  prometheusMetrics,
  PromAnswerError,
  type PromSample,
  type QueryAnswers,
  type QueryName,
  TOP_SHARDS,
} from './prometheusQueries.js';
export { selectShards, shardMigration, shardRow } from './shardColumns.js';
export type { ShardLayout } from './shardIndex.js';
export {
  classifyShard,
  parseShardFilterStates,
  SHARD_FLAG,
  SHARD_STATE_INDEX,
  SHARD_STATES,
  type ShardFilterState,
  type ShardState,
} from './shardState.js';
