/**
 * Status conditions (metav1.Condition: Ready, Progressing, Degraded) for both kinds, on top of
 * the Cluster side's `mergeConditions` (operator/src/cluster/status.ts), which keeps a
 * condition's `lastTransitionTime` unless its status flips. Added here: messages cut to
 * STATUS_MESSAGE_CHARS_MAX, and `jsonEqual`, so a reconcile that finds nothing new writes no
 * status at all (no write, no watch event, no loop).
 *
 * Pure.
 */
import { mergeConditions, type Condition, type ConditionInput, type ConditionType } from "../cluster/index.js";
import { STATUS_MESSAGE_CHARS_MAX } from "../limits.js";

export type { Condition, ConditionInput, ConditionType };

export function truncateMessage(message: string, max = STATUS_MESSAGE_CHARS_MAX): string {
  return message.length <= max ? message : `${message.slice(0, max - 1)}…`;
}

/** The conditions `wanted` describes (messages cut), transition times kept where the status did not flip. */
export function setConditions(current: readonly Condition[] | undefined, wanted: readonly ConditionInput[], observedGeneration: number | undefined, now: Date): Condition[] {
  return mergeConditions(
    current,
    wanted.map((c) => ({ ...c, message: truncateMessage(c.message) })),
    now,
    observedGeneration,
  );
}

export function findCondition(conditions: readonly Condition[] | undefined, type: ConditionType): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** Deep equality of two JSON-shaped values (status objects), key order and undefined fields ignored. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((v, i) => jsonEqual(v, b[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)].filter((k) => ao[k] !== undefined || bo[k] !== undefined));
  for (const k of keys) if (!jsonEqual(ao[k], bo[k])) return false;
  return true;
}
