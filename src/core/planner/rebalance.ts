import { InvalidArgumentError } from '../errors.js';
import type { LoadRecord } from '../keyspace/records.js';
import type { ClusterSnapshot } from '../snapshot/snapshot.js';
import { planCount } from './count.js';
import { planLoad } from './load.js';
import type { PlanResult, RebalanceState } from './plan.js';
import type { PlannerSettings } from './settings.js';
import { planWeighted } from './weighted.js';

export type StrategyName = 'count' | 'weighted' | 'load';

export const STRATEGY_NAMES: readonly StrategyName[] = ['count', 'weighted', 'load'];

export interface RebalanceStrategy {
  readonly name: StrategyName;
  readonly description: string;
  plan(snapshot: ClusterSnapshot, settings: PlannerSettings, loads: ReadonlyMap<string, LoadRecord>, state: RebalanceState): PlanResult;
}

const strategies: Record<StrategyName, RebalanceStrategy> = {
  count: {
    name: 'count',
    description: "upstream's count-based rebalance: shard counts within the imbalance threshold of each node's weighted share",
    plan: (snapshot, settings) => planCount(snapshot, settings),
  },
  weighted: {
    name: 'weighted',
    description: 'shard counts proportional to node weights, balanced to about one shard once the threshold is crossed',
    plan: (snapshot, settings, _loads, state) => planWeighted(snapshot, settings, state),
  },
  load: {
    name: 'load',
    description: 'reported load (objects or call rate, CPU, memory) proportional to node weights, with a hysteresis band',
    plan: (snapshot, settings, loads, state) => planLoad(snapshot, settings, loads, state),
  },
};

export function isStrategyName(name: string): name is StrategyName {
  return (STRATEGY_NAMES as readonly string[]).includes(name);
}

/** The strategy called `name`; throws InvalidArgumentError naming the accepted names otherwise. */
export function rebalanceStrategy(name: string): RebalanceStrategy {
  if (!isStrategyName(name)) {
    throw new InvalidArgumentError(`unknown rebalance strategy ${JSON.stringify(name)} (expected one of ${STRATEGY_NAMES.join(', ')})`);
  }
  return strategies[name];
}
