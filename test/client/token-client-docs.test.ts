import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { accessTokenSecretSchema } from '../../lambda/shared/secrets/access-token-secret';

const ROOT = join(import.meta.dirname, '..', '..');
const doc = readFileSync(join(ROOT, 'docs', 'token-client.md'), 'utf8');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

function codeBlocks(language: string, text = doc): string[] {
  return [...text.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\`\\n`, 'g'))].map(
    (m) => m[1] ?? '',
  );
}

describe('the token client documentation', () => {
  it('shows the sync-job example exactly as the tested file is', () => {
    const example = readFileSync(join(ROOT, 'examples', 'sync-job.ts'), 'utf8');

    expect(codeBlocks('ts')).toContain(example);
  });

  it('is where the README sends sync-job authors, and the README does not repeat it', () => {
    expect(readme).toContain('](docs/token-client.md)');
    expect(readme).toContain('`examples/sync-job.ts`');
    // One copy of the client's reference: the README keeps only a short example.
    expect(readme).not.toContain('### The access-token secret (the contract)');
    expect(codeBlocks('ts', readme).some((block) => block.includes('export async function runSyncJob'))).toBe(
      false,
    );
  });

  it('documents the secret with the fields and constants the refresher writes', () => {
    const documented = JSON.parse(codeBlocks('json').find((b) => b.includes('"$schema"')) ?? '{}');
    const actual = z.toJSONSchema(accessTokenSecretSchema) as {
      required: string[];
      properties: Record<string, { const?: unknown }>;
    };

    expect(documented.required).toEqual(actual.required);
    expect(Object.keys(documented.properties)).toEqual(Object.keys(actual.properties));
    for (const [field, spec] of Object.entries(actual.properties)) {
      expect(documented.properties[field].const).toEqual(spec.const);
    }
  });

  it('gives an example value that the schema accepts', () => {
    const example = codeBlocks('json').find((b) => b.includes('"accessToken"') && !b.includes('"$schema"'));

    expect(accessTokenSecretSchema.safeParse(JSON.parse(example ?? '{}')).success).toBe(true);
  });
});
