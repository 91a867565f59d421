import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { type DeploymentConfig, refresherPropsFromConfig } from './deployment-config';
import { ServiceNowTokenRefresher } from './servicenow-token-refresher';

export interface ServiceNowTokenRefresherStackProps extends StackProps {
  /** The validated deployment configuration (see lib/deployment-config.ts and config/example.json). */
  readonly config: DeploymentConfig;
}

/** The whole system in one deployable stack, from the deployment configuration file. */
export class ServiceNowTokenRefresherStack extends Stack {
  readonly refresher: ServiceNowTokenRefresher;

  constructor(scope: Construct, id: string, props: ServiceNowTokenRefresherStackProps) {
    const { config } = props;
    super(scope, id, {
      description:
        'Keeps ServiceNow OAuth access tokens fresh in AWS Secrets Manager (servicenow-token-refresher)',
      ...props,
    });
    for (const [key, value] of Object.entries(config.tags)) Tags.of(this).add(key, value);

    this.refresher = new ServiceNowTokenRefresher(this, 'TokenRefresher', {
      ...refresherPropsFromConfig(config),
      encryptionKey: config.kmsKeyArn
        ? kms.Key.fromKeyArn(this, 'EncryptionKey', config.kmsKeyArn)
        : undefined,
    });

    const r = this.refresher;
    const outputs: Record<string, [string, string]> = {
      AlertTopicArn: [r.alertTopic.topicArn, 'SNS topic that receives every alert and alarm'],
      RefresherFunctionName: [
        r.refresher.functionName,
        'Invoke with {"action":"refresh"} for an immediate refresh',
      ],
      ProbeFunctionName: [r.probe.functionName, 'Checks each stored access token against its instance'],
      ExpiryWatchFunctionName: [r.expiryWatch.functionName, 'Warns before refresh tokens expire'],
      StateTableName: [r.table.tableName, 'Per-instance refresh state and open incidents'],
      ...(r.dashboard && {
        DashboardName: [r.dashboard.dashboardName, 'CloudWatch dashboard of the refresher'] as [
          string,
          string,
        ],
      }),
      CredentialsSecretNamePattern: [
        `${config.secretNamePrefix}<instance>/credentials`,
        "Name of each instance's credentials secret (per-instance names and ARNs: the InstanceGroup nested stacks' outputs)",
      ],
      AccessTokenSecretNamePattern: [
        `${config.secretNamePrefix}<instance>/access-token`,
        "Name of each instance's access-token secret, which sync jobs read",
      ],
    };
    for (const [id, [value, description]] of Object.entries(outputs)) {
      new CfnOutput(this, id, { value, description });
    }
  }
}
