import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveDeployment } from '../../cli/deployment';

const dir = mkdtempSync(join(tmpdir(), 'deployment-file-'));
const noCloudFormation = () => ({
  send: () => Promise.reject(new Error('a deployment file needs no CloudFormation call')),
});

function deploymentFile(url: string, allowedHosts?: string[]): string {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      instances: [
        {
          name: 'acme',
          url,
          credentialsSecretId: 'acme/credentials',
          accessTokenSecretId: 'acme/access-token',
        },
      ],
      stateTableName: 'state',
      alertTopicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts',
      refresherFunctionName: 'refresher',
      ...(allowedHosts && { allowedHosts }),
    }),
  );
  return path;
}

describe('snow-token --deployment <file>: the instance hosts are pinned as in the configuration file', () => {
  it('refuses a host outside service-now.com, before any secret or password is sent', async () => {
    const path = deploymentFile('https://evil.example');

    await expect(resolveDeployment({ deployment: path, cwd: dir }, noCloudFormation)).rejects.toThrow(
      /instances\.0\.url: host "evil\.example" is outside \*\.service-now\.com; add it to the file's allowedHosts .*e\.g\. "allowedHosts": \["evil\.example"\]/,
    );
  });

  it('refuses an IP address even when the file allows it', async () => {
    const path = deploymentFile('https://10.0.0.1', ['10.0.0.1']);

    await expect(resolveDeployment({ deployment: path, cwd: dir }, noCloudFormation)).rejects.toThrow(
      /allowedHosts\.0: "10\.0\.0\.1" is an IP address/,
    );
  });

  it('accepts an instance on service-now.com, and a custom host the file allows', async () => {
    const plain = await resolveDeployment(
      { deployment: deploymentFile('https://acme.service-now.com'), cwd: dir },
      noCloudFormation,
    );
    const custom = await resolveDeployment(
      {
        deployment: deploymentFile('https://servicenow.acme.example', ['servicenow.acme.example']),
        cwd: dir,
      },
      noCloudFormation,
    );

    expect(plain.instances[0]?.url).toBe('https://acme.service-now.com');
    expect(custom.instances[0]?.url).toBe('https://servicenow.acme.example');
  });
});
