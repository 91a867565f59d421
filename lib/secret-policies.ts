import { DefaultStackSynthesizer, Fn, NestedStack, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/** Who may do what to one instance's secrets, as ARN patterns matched against aws:PrincipalArn. */
export interface SecretPrincipals {
  /** The refresher's role. */
  readonly refresher: string;
  /** The probe's role (reads the access token). */
  readonly probe: string;
  /** The operators running `snow-token` (bootstrap, renew, a forced refresh). */
  readonly operators: readonly string[];
  /** Sync jobs and other readers of the access token named by ARN (accessTokenReaderArns). */
  readonly accessTokenReaders: readonly string[];
  /** Roles of the app granted by grantReadAccessToken carry this tag (key, and the prefix as value). */
  readonly readerTag: { readonly key: string; readonly value: string };
  /**
   * The deployment's CloudFormation role: the only principal that may change or delete the
   * policy, the secret's settings, tags, replication and rotation (stack updates and deletion).
   */
  readonly deployment: string;
}

/** The role tag that marks grantReadAccessToken's grantees as readers (value: the secret prefix). */
export const ACCESS_TOKEN_READER_TAG = 'servicenow-token-reader';

/** Every action that reads or changes a secret, grouped by who may use it. */
export const SECRET_ACTIONS = {
  read: ['secretsmanager:GetSecretValue'],
  writeValue: ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
  /** UpdateSecret can replace the value as well as the description and key: CloudFormation needs it. */
  update: ['secretsmanager:UpdateSecret'],
  /** Only the deployment: the policy itself, deletion, replication, rotation and tags (ABAC). */
  administer: [
    'secretsmanager:PutResourcePolicy',
    'secretsmanager:DeleteResourcePolicy',
    'secretsmanager:DeleteSecret',
    'secretsmanager:RestoreSecret',
    'secretsmanager:ReplicateSecretToRegions',
    'secretsmanager:RemoveRegionsFromReplication',
    'secretsmanager:StopReplicationToReplica',
    'secretsmanager:RotateSecret',
    'secretsmanager:CancelRotateSecret',
    'secretsmanager:TagResource',
    'secretsmanager:UntagResource',
  ],
} as const;

function denyUnless(sid: string, actions: readonly string[], allowed: readonly string[]) {
  return {
    Sid: sid,
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Action: [...actions],
    Resource: '*',
    Condition: { ArnNotLike: { 'aws:PrincipalArn': [...allowed] } },
  };
}

/**
 * The credentials secret: read and written by the refresher and the operators only; its settings,
 * policy and life by the deployment only. Denies hold against administrators with
 * secretsmanager:* in the account, since an explicit deny beats any allow.
 */
export function credentialsSecretPolicy(p: SecretPrincipals) {
  const users = [p.refresher, ...p.operators];
  return {
    Version: '2012-10-17',
    Statement: [
      denyUnless('OnlyRefresherAndOperatorsReadCredentials', SECRET_ACTIONS.read, users),
      denyUnless('OnlyRefresherAndOperatorsWriteCredentials', SECRET_ACTIONS.writeValue, users),
      denyUnless('OnlyOperatorsAndDeploymentUpdateCredentials', SECRET_ACTIONS.update, [
        ...p.operators,
        p.deployment,
      ]),
      denyUnless('OnlyDeploymentAdministersCredentials', SECRET_ACTIONS.administer, [p.deployment]),
    ],
  };
}

/**
 * The access-token secret: read by its readers, the probe, the refresher and the operators;
 * written by the refresher and the operators (a forced refresh from the CLI); administered by the
 * deployment only.
 */
export function accessTokenSecretPolicy(p: SecretPrincipals) {
  const writers = [p.refresher, ...p.operators];
  return {
    Version: '2012-10-17',
    Statement: [
      // Both conditions must hold for the deny: a reader is named by ARN or carries the tag.
      {
        ...denyUnless('OnlyReadersReadAccessToken', SECRET_ACTIONS.read, [
          ...writers,
          p.probe,
          ...p.accessTokenReaders,
        ]),
        Condition: {
          ArnNotLike: { 'aws:PrincipalArn': [...writers, p.probe, ...p.accessTokenReaders] },
          StringNotEquals: { [`aws:PrincipalTag/${p.readerTag.key}`]: p.readerTag.value },
        },
      },
      denyUnless('OnlyRefresherAndOperatorsWriteAccessToken', SECRET_ACTIONS.writeValue, writers),
      denyUnless('OnlyOperatorsAndDeploymentUpdateAccessToken', SECRET_ACTIONS.update, [
        ...p.operators,
        p.deployment,
      ]),
      denyUnless('OnlyDeploymentAdministersAccessToken', SECRET_ACTIONS.administer, [p.deployment]),
    ],
  };
}

/**
 * The CloudFormation execution role of the CDK bootstrap that deploys the stack holding `scope`
 * (cdk-<qualifier>-cfn-exec-role-<account>-<region>), as a template expression; undefined when
 * the stack does not use the default synthesizer (then pass `deploymentRoleArn`).
 */
export function defaultDeploymentRoleArn(scope: Construct): string | undefined {
  let stack = Stack.of(scope);
  while (NestedStack.isNestedStack(stack) && stack.nestedStackParent) stack = stack.nestedStackParent;
  const synthesizer = stack.synthesizer;
  if (!(synthesizer instanceof DefaultStackSynthesizer)) return undefined;
  // The synthesizer's ARN carries ${AWS::...} placeholders where the environment is not fixed.
  return Fn.sub(synthesizer.cloudFormationExecutionRoleArn);
}
