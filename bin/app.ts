#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { loadDeploymentConfig } from '../lib/deployment-config';
import { ServiceNowTokenRefresherStack } from '../lib/servicenow-token-refresher-stack';

const app = new App();
const configPath = app.node.tryGetContext('config') ?? 'config/example.json';
const config = loadDeploymentConfig(configPath);
new ServiceNowTokenRefresherStack(app, config.stackName, {
  config,
  env: config.account || config.region ? { account: config.account, region: config.region } : undefined,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
