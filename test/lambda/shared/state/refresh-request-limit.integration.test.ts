import { describe } from 'vitest';
import { createLocalAws } from '../../../../harness/local-aws/aws-env';
import { DynamoRefreshRequestLimit } from '../../../../lambda/shared/state/refresh-request-limit';
import { refreshRequestLimitContract } from './refresh-request-limit.contract';

describe('DynamoRefreshRequestLimit keeps the RefreshRequestLimit contract', () => {
  refreshRequestLimitContract(async (perMinute) => {
    const aws = await createLocalAws();
    return new DynamoRefreshRequestLimit(aws.dynamo, aws.tableName, perMinute);
  });
});
