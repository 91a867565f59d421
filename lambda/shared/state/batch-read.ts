import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';

/**
 * Reads the state table's items with these `instance` keys, consistently, 100 to a call, asking
 * again (up to 5 times) for what DynamoDB left unprocessed. `what` names the items in the error.
 */
export async function batchRead(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly string[],
  what: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    let pending: Record<string, unknown>[] | undefined = keys
      .slice(i, i + 100)
      .map((instance) => ({ instance }));
    for (let attempt = 0; pending?.length && attempt < 5; attempt++) {
      const out: BatchGetCommandOutput = await doc.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      items.push(...(out.Responses?.[tableName] ?? []));
      pending = out.UnprocessedKeys?.[tableName]?.Keys;
    }
    if (pending?.length)
      throw new Error(`DynamoDB left ${pending.length} ${what} reads unprocessed after 5 tries`);
  }
  return items;
}
