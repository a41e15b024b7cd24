/**
 * Server-side partition assignors (pure functions). See ../README.md for the guarantees of each.
 */
export * from "./assignment.js";
export { assignRange, rangeAssignor } from "./range.js";
export { assignRoundRobin, roundRobinAssignor } from "./round-robin.js";
export {
  assignUniformSticky,
  uniformStickyAssignor,
  STICKY_REFINE_RELAXATIONS_MAX,
  type UniformStickyOptions,
} from "./uniform-sticky.js";
export { ASSIGNORS, DEFAULT_ASSIGNOR_NAME, assignorByName, isAssignorName, type AssignorName } from "./registry.js";
