import type { Grant } from '../lambda/shared/secrets/credentials-secret';

/**
 * The OAuth grants `snow-token bootstrap` sets up, which the credentials secret records
 * (lambda/shared/secrets/credentials-secret.ts). Use the members, e.g. `ServiceNowGrant.PASSWORD`,
 * or their string values in the configuration file.
 */
export const ServiceNowGrant = {
  /** A password grant once, then refresh tokens: a person renews it every refresh-token lifespan. */
  PASSWORD: 'password',
  /** The client id and secret on every refresh: no refresh token, nothing to renew. */
  CLIENT_CREDENTIALS: 'client_credentials',
  /** A JWT signed with a registered certificate on every refresh: the certificate's end is the only date. */
  JWT_BEARER: 'jwt_bearer',
} as const;
export type ServiceNowGrant = (typeof ServiceNowGrant)[keyof typeof ServiceNowGrant];

/** Every grant, in the order the messages list them. */
export const SUPPORTED_GRANTS: readonly ServiceNowGrant[] = Object.values(ServiceNowGrant);

// Compiles only while this list and the credentials secret's grants are the same set.
type SameSet<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const grantsMatchTheSecret: SameSet<ServiceNowGrant, Grant> = true;
void grantsMatchTheSecret;
