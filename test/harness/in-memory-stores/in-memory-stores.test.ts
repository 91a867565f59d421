import { describe } from 'vitest';
import {
  InMemoryIncidentStore,
  InMemoryRefreshRequestLimit,
  InMemorySecretStore,
  InMemoryStateStore,
} from '../../../harness/in-memory-stores';
import { AwsClock } from '../../../lambda/shared/state/aws-clock';
import { incidentStoreContract } from '../../lambda/shared/alerts/incident-store.contract';
import { secretStoreContract } from '../../lambda/shared/secrets/secret-store.contract';
import { refreshRequestLimitContract } from '../../lambda/shared/state/refresh-request-limit.contract';
import { stateStoreContract } from '../../lambda/shared/state/state-store.contract';

// The same suites run against the AWS stores in the *.integration.test.ts beside each contract.
describe('InMemoryStateStore keeps the StateStore contract', () => {
  stateStoreContract({
    create: async ({ writerClock } = {}) =>
      new InMemoryStateStore(writerClock ? { awsClock: new AwsClock(writerClock) } : {}),
  });
});

describe('InMemorySecretStore keeps the SecretStore contract', () => {
  secretStoreContract(async () => {
    const store = new InMemorySecretStore();
    return { store, createEmpty: async (name) => store.create(name), unknownId: (name) => name };
  });
});

describe('InMemoryIncidentStore keeps the IncidentStore contract', () => {
  incidentStoreContract(async () => new InMemoryIncidentStore());
});

describe('InMemoryRefreshRequestLimit keeps the RefreshRequestLimit contract', () => {
  refreshRequestLimitContract(async (perMinute) => new InMemoryRefreshRequestLimit(perMinute));
});
