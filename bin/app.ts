#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { type DeploymentConfig, DeploymentConfigError, loadDeploymentConfig } from '../lib/deployment-config';
import { ServiceNowTokenRefresherStack } from '../lib/servicenow-token-refresher-stack';

const app = new App();
const configPath: string = app.node.tryGetContext('config') ?? 'config/example.json';
let config: DeploymentConfig;
try {
  config = loadDeploymentConfig(configPath);
} catch (error) {
  // The message names the field and an example; a stack trace would only bury it.
  if (!(error instanceof DeploymentConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
new ServiceNowTokenRefresherStack(app, config.stackName, {
  config,
  env: config.account || config.region ? { account: config.account, region: config.region } : undefined,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
