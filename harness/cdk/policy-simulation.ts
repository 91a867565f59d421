import { runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';

/** The account and region the policy tests synthesize for, so that the policies' ARNs are concrete. */
export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';

export const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;

/** A request by a session of the role, with the context keys AWS sets for it, and any `more` (its tags). */
export function roleRequest(
  role: string,
  action: string,
  resource: string,
  more: Record<string, string> = {},
): Simulation['request'] {
  return {
    principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${role.split('/').pop()}/session`,
    action,
    resource: { resource, accountId: ACCOUNT },
    contextVariables: { 'aws:PrincipalArn': role, 'aws:PrincipalAccount': ACCOUNT, ...more },
  };
}

/**
 * What AWS decides for the request under a resource policy, as an open-source IAM policy simulator
 * (@cloud-copilot/iam-simulate) evaluates it. With `administratorOf: 'sns'` the principal holds
 * `sns:*` on everything in its identity policy, like an account administrator, so the decision is
 * exactly what the resource policy leaves open; without it (a service principal) there is no
 * identity policy.
 */
export async function policyDecision(
  request: Simulation['request'],
  resourcePolicy: unknown,
  administratorOf?: string,
): Promise<string> {
  const response = await runSimulation(
    {
      request,
      identityPolicies:
        administratorOf === undefined
          ? []
          : [
              {
                name: 'administrator',
                policy: {
                  Version: '2012-10-17',
                  Statement: [{ Effect: 'Allow', Action: `${administratorOf}:*`, Resource: '*' }],
                },
              },
            ],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: resourcePolicy as Simulation['resourcePolicy'],
    },
    {},
  );
  if (response.resultType === 'error') throw new Error(JSON.stringify(response.errors));
  return response.overallResult;
}
