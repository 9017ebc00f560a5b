/**
 * The executor moved to src/edge/operations; src/node/node.ts still imports it from here until its start-up steps
 * are rewritten (then this file goes).
 */
export { ClusterOperations } from '../edge/operations/clusterOperations.js';
