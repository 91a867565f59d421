import { createHash } from 'node:crypto';

/**
 * Per-instance resources (two secrets, a resource policy on each, an output) live in nested
 * stacks, because 200 instances would need 800+ resources and CloudFormation allows 500 per stack.
 * An instance's group comes from a hash of its name and the number of groups never changes, so
 * adding or removing an instance never moves another instance's secrets to a different stack
 * (which would delete and recreate them).
 */
export const INSTANCE_GROUP_COUNT = 8;

/** Each instance costs 4 resources and 1 output: 100 per group stays within 500 resources and 200 outputs. */
export const MAX_INSTANCES_PER_GROUP = 100;

export function instanceGroup(instanceName: string): number {
  return createHash('sha256').update(instanceName).digest().readUInt32BE(0) % INSTANCE_GROUP_COUNT;
}

export function instanceGroupId(group: number): string {
  return `InstanceGroup${group}`;
}
