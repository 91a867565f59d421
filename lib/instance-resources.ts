import { CfnOutput, Lazy, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { accessTokenSecretPolicy, credentialsSecretPolicy, type SecretPrincipals } from './secret-policies';

export interface InstanceResourcesProps {
  readonly instanceName: string;
  readonly instanceUrl: string;
  readonly credentialsSecretName: string;
  readonly accessTokenSecretName: string;
  /** Who may do what to the two secrets (lib/secret-policies.ts). */
  readonly principals: SecretPrincipals;
  /** @default - the AWS managed key of Secrets Manager */
  readonly encryptionKey?: kms.IKey;
  readonly removalPolicy: RemovalPolicy;
  readonly tags: Readonly<Record<string, string>>;
  /** Extra tags for the credentials secret only. */
  readonly credentialsTags: Readonly<Record<string, string>>;
}

/**
 * What one ServiceNow instance owns: its two secrets under stable names and the credentials
 * secret's resource policy. (The dead-man's switch watches every instance at once: DeadManSwitch.)
 */
export class InstanceResources extends Construct {
  readonly credentialsSecret: secretsmanager.CfnSecret;
  readonly accessTokenSecret: secretsmanager.CfnSecret;

  constructor(scope: Construct, id: string, props: InstanceResourcesProps) {
    super(scope, id);
    const { instanceName: name } = props;
    const tags = (kind: string, extra: Readonly<Record<string, string>> = {}) =>
      Object.entries({
        ...props.tags,
        'servicenow-token:instance': name,
        'servicenow-token:kind': kind,
        ...extra,
      }).map(([key, value]) => ({ key, value }));

    // L1 on purpose: without SecretString or GenerateSecretString the secret is created with no
    // value, and the refresher reports "not bootstrapped" until `snow-token bootstrap` fills it.
    // (The L2 Secret would generate a random value the refresher would then refuse as malformed.)
    this.credentialsSecret = new secretsmanager.CfnSecret(this, 'Credentials', {
      name: props.credentialsSecretName,
      description: `ServiceNow OAuth client and refresh token for ${name} (${props.instanceUrl}). Filled by "snow-token bootstrap ${name}"; readable only by the refresher and the operators.`,
      kmsKeyId: props.encryptionKey?.keyArn,
      tags: tags('credentials', props.credentialsTags),
    });
    this.accessTokenSecret = new secretsmanager.CfnSecret(this, 'AccessToken', {
      name: props.accessTokenSecretName,
      description: `Current ServiceNow access token for ${name} (${props.instanceUrl}). Written only by the refresher; read by sync jobs.`,
      kmsKeyId: props.encryptionKey?.keyArn,
      tags: tags('access-token'),
    });
    for (const secret of [this.credentialsSecret, this.accessTokenSecret]) {
      secret.applyRemovalPolicy(props.removalPolicy);
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The refresher is the rotation: it replaces the access token before every expiry (about every 30 minutes), and a refresh token can only be renewed by a new password grant (snow-token renew), which no rotation Lambda could automate without storing the password.',
      });
    }

    // Explicit denies to every principal but the named ones: they hold even for administrators
    // with secretsmanager:* in the account (see docs/security.md for the table).
    new secretsmanager.CfnResourcePolicy(this, 'CredentialsPolicy', {
      secretId: this.credentialsSecret.ref,
      blockPublicPolicy: true,
      resourcePolicy: credentialsSecretPolicy(props.principals),
    });
    new secretsmanager.CfnResourcePolicy(this, 'AccessTokenPolicy', {
      secretId: this.accessTokenSecret.ref,
      blockPublicPolicy: true,
      // Lazy: grantReadAccessToken may name readers after this construct is built.
      resourcePolicy: Lazy.any({ produce: () => accessTokenSecretPolicy(props.principals) }),
    });

    new CfnOutput(this, 'Secrets', {
      description: `Secret names and ARNs for the ServiceNow instance ${name}`,
      value: Stack.of(this).toJsonString({
        instance: name,
        credentialsSecretName: props.credentialsSecretName,
        credentialsSecretArn: this.credentialsSecret.ref,
        accessTokenSecretName: props.accessTokenSecretName,
        accessTokenSecretArn: this.accessTokenSecret.ref,
      }),
    });
  }
}
