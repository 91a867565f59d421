export type {
  GrantContext,
  GrantHandler,
  GrantOutcome,
  GrantRejection,
  GrantSuccess,
  TokenResponseBody,
} from './grant-handlers';
export {
  authenticateClient,
  expiresInSeconds,
  freshExpiresIn,
  loginBlockedReason,
  passwordGrant,
  refreshTokenGrant,
} from './grant-handlers';
export { DEVELOPER_PORTAL_URL, HIBERNATION_PAGE, OFFLINE_PAGE } from './html-pages';
export {
  DEFAULT_ACCESS_TOKEN_LIFESPAN_SECONDS,
  DEFAULT_REFRESH_TOKEN_LIFESPAN_SECONDS,
  defaultInstanceSettings,
} from './instance-settings';
export { NOT_AUTHENTICATED_BODY, OPAQUE_ACCESS_DENIED_BODY } from './responses';
export { ServiceNowSimulator, type ServiceNowSimulatorOptions } from './simulator';
export type { TokenStore } from './token-store';
export type {
  EarlyRefreshMode,
  Fault,
  FaultRule,
  HibernationMode,
  InstanceSettings,
  LogFilter,
  LoggedRequest,
  RateLimitWindow,
  RegistryRecord,
  SimInstance,
  SimUser,
  TokenRecord,
} from './types';
