import { describe } from 'vitest';
import { createLocalAws } from '../../../../harness/local-aws/aws-env';
import { AwsClock } from '../../../../lambda/shared/state/aws-clock';
import { DynamoStateStore } from '../../../../lambda/shared/state/state-store';
import { stateStoreContract } from './state-store.contract';

describe('DynamoStateStore keeps the StateStore contract', () => {
  stateStoreContract({
    async create({ writerClock } = {}) {
      const aws = await createLocalAws();
      return new DynamoStateStore(aws.dynamo, aws.tableName, writerClock && new AwsClock(writerClock));
    },
  });
});
