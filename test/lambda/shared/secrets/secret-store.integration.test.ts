import { describe } from 'vitest';
import { createLocalAws } from '../../../../harness/local-aws/aws-env';
import { SecretsManagerSecretStore } from '../../../../lambda/shared/secrets/secret-store';
import { secretStoreContract } from './secret-store.contract';

describe('SecretsManagerSecretStore keeps the SecretStore contract', () => {
  secretStoreContract(async () => {
    const aws = await createLocalAws();
    return {
      store: new SecretsManagerSecretStore(aws.secrets),
      createEmpty: (name) => aws.createSecret(name),
      unknownId: (name) => `${aws.prefix}/${name}`,
    };
  });
});
