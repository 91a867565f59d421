import { describe } from 'vitest';
import { createLocalAws } from '../../../../harness/local-aws/aws-env';
import { DynamoIncidentStore } from '../../../../lambda/shared/alerts/incident-store';
import { incidentStoreContract } from './incident-store.contract';

describe('DynamoIncidentStore keeps the IncidentStore contract', () => {
  incidentStoreContract(async () => {
    const aws = await createLocalAws();
    return new DynamoIncidentStore(aws.dynamo, aws.tableName);
  });
});
