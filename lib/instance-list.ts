import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstanceConfig } from '../lambda/shared/instance-config';
import type { RefresherSettings } from './refresher-props-schema';

/** What each function loads from instances.json: secret IDs are names, known at synth. */
export function instanceConfigs(settings: RefresherSettings): InstanceConfig[] {
  const prefix = settings.secretNamePrefix;
  return settings.instances.map((i) => ({
    name: i.name,
    url: i.url,
    credentialsSecretId: `${prefix}${i.name}/credentials`,
    accessTokenSecretId: `${prefix}${i.name}/access-token`,
    ...(i.probePath !== undefined && { probePath: i.probePath }),
    ...(i.expiryWarningDays !== undefined && { expiryWarningDays: [...i.expiryWarningDays] }),
    ...(i.accessTokenLifespan !== undefined && {
      accessTokenLifespanSeconds: i.accessTokenLifespan.toSeconds(),
    }),
  }));
}

/**
 * The instance list every function bundles as instances.json: Lambda's 4 KB environment could not
 * hold 200 instances. Secret IDs are names, known at synth (ARNs carry a random suffix).
 */
export function writeInstancesFile(instances: readonly InstanceConfig[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'servicenow-token-instances-'));
  const file = join(dir, 'instances.json');
  writeFileSync(file, `${JSON.stringify(instances, null, 2)}\n`);
  return file;
}
