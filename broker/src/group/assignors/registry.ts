/**
 * The one registry of server-side assignors, by the names members send in `serverAssignor`
 * (Kafka's KIP-848 names: "uniform" and "range"; "round-robin" is ours).
 *
 * Pure (lint-enforced folder).
 */
import { SluiceError } from "@sluice/protocol";
import type { Assignor } from "./assignment.js";
import { rangeAssignor } from "./range.js";
import { roundRobinAssignor } from "./round-robin.js";
import { uniformStickyAssignor } from "./uniform-sticky.js";

export const ASSIGNORS: ReadonlyMap<string, Assignor> = new Map(
  [uniformStickyAssignor, rangeAssignor, roundRobinAssignor].map((a) => [a.name, a]),
);

/** The assignor a group uses when no member asks for one. */
export const DEFAULT_ASSIGNOR_NAME = "uniform";

export type AssignorName = "uniform" | "range" | "round-robin";

export function isAssignorName(name: string): name is AssignorName {
  return ASSIGNORS.has(name);
}

/** Throws UNSUPPORTED_ASSIGNOR for a name not in the registry. */
export function assignorByName(name: string): Assignor {
  const found = ASSIGNORS.get(name);
  if (found === undefined) {
    throw new SluiceError("UNSUPPORTED_ASSIGNOR", `"${name}" (known: ${[...ASSIGNORS.keys()].join(", ")})`);
  }
  return found;
}
