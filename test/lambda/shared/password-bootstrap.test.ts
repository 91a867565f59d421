import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryRefresherFixture } from '../../../harness/refresher-fixture';
import { bootstrapWithPassword } from '../../../lambda/shared/password-bootstrap';
import { LeaseLostError, type StateStore } from '../../../lambda/shared/state/state-store';

/** `snow-token bootstrap` and `renew` on the in-memory stores, against the simulator on loopback. */
let fixture: InMemoryRefresherFixture;
afterEach(async () => {
  await fixture.close();
});

/** The store, with the lease taken over by another writer just before the grant is marked open. */
function takenOverBeforeTheGrant(store: StateStore): StateStore {
  return Object.assign(Object.create(store) as StateStore, {
    commit: async (...args: Parameters<StateStore['commit']>) => {
      if (args[3].grantStartedAt !== undefined) throw new LeaseLostError(args[0]);
      return store.commit(...args);
    },
  });
}

describe('a renewal under the lease', () => {
  it('answers "busy" and asks ServiceNow nothing when its lease is taken over before the grant', async () => {
    fixture = await InMemoryRefresherFixture.create();
    const acme = fixture.instance();

    const result = await bootstrapWithPassword(
      {
        clock: fixture.clock,
        secrets: fixture.secrets,
        state: takenOverBeforeTheGrant(fixture.state),
        client: fixture.client(),
        owner: 'cli/renewal',
      },
      acme.config,
      {
        clientId: acme.registry.clientId,
        clientSecret: acme.registry.clientSecret,
        username: acme.username,
        password: acme.password,
      },
    );

    expect(result.kind).toBe('busy');
    expect(fixture.sim.count()).toBe(0);
  });
});
