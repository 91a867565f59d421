import type { RefresherFixture } from './refresher-fixture';

/**
 * Closes the fixture and returns each of its secret values (client secrets, passwords, issued
 * tokens) that appears in what the system logged while it ran: empty when all is well. The check
 * an integration test makes after each test, whatever the test did.
 */
export async function closeFindingLoggedSecrets(fixture: RefresherFixture): Promise<string[]> {
  const logged = fixture.logs.text();
  await fixture.close();
  return fixture.secretValues().filter((secret) => logged.includes(secret));
}
