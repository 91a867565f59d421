import type { InstanceSettings, RegistryRecord, SimUser } from './types';

export const DEFAULT_ACCESS_TOKEN_LIFESPAN_SECONDS = 1800;
export const DEFAULT_REFRESH_TOKEN_LIFESPAN_SECONDS = 8_640_000;

export function defaultInstanceSettings(): InstanceSettings {
  return {
    earlyRefreshMode: 'current-remaining',
    rotateRefreshTokens: false,
    passwordGrantDisabled: false,
    parametersInBodyOnly: true,
    restApiAclActive: true,
    rateLimitPerHour: null,
    queueFull: false,
    hibernation: null,
    tableRows: 3,
    clientCredentialsEnabled: false,
    clockSkewSeconds: 0,
    rateLimitWindow: null,
    incidentRows: 4,
  };
}

export function newRegistryRecord(
  record: Partial<RegistryRecord> & { clientId: string; clientSecret: string },
): RegistryRecord {
  return {
    accessTokenLifespanSeconds: DEFAULT_ACCESS_TOKEN_LIFESPAN_SECONDS,
    refreshTokenLifespanSeconds: DEFAULT_REFRESH_TOKEN_LIFESPAN_SECONDS,
    ...record,
  };
}

export function newUser(user: Partial<SimUser> & { username: string; password: string }): SimUser {
  return { active: true, locked: false, roles: ['itil'], ...user };
}
