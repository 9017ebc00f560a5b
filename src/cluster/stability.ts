/**
 * The stability clock moved to src/core/planner/sightings.ts; src/cluster/member.ts still imports it from here until
 * its split by role (then this file goes).
 */
export { StabilityClock } from '../core/planner/sightings.js';
