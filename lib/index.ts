/**
 * The package root, `servicenow-token-refresher`: the construct to drop into a stack of your own,
 * and the whole-system stack this repository deploys, with its configuration loader.
 *
 *   new ServiceNowTokenRefresher(this, 'ServiceNowTokens', { instances: [{ name: 'acme', url }] });
 */
export {
  type DeploymentConfig,
  DeploymentConfigError,
  type InstanceDeploymentConfig,
  loadDeploymentConfig,
  parseDeploymentConfig,
} from './deployment-config';
export { ServiceNowGrant, SUPPORTED_GRANTS } from './servicenow-grant';
export {
  type ServiceNowInstance,
  ServiceNowTokenRefresher,
  type ServiceNowTokenRefresherProps,
} from './servicenow-token-refresher';
export {
  ServiceNowTokenRefresherStack,
  type ServiceNowTokenRefresherStackProps,
} from './servicenow-token-refresher-stack';
