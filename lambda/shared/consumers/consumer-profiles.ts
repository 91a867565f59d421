/**
 * What each kind of consumer calls things, and where its admin pastes the values: used by the
 * handoff screen, by the countdown emails and by docs/exalate.md. An unknown consumer gets the
 * generic steps under its own name.
 */
export interface ConsumerProfile {
  /** How people write its name, e.g. "Exalate". */
  readonly label: string;
  /** Where each value goes, in the consumer's own screens. */
  readonly pasteSteps: (values: { readonly instanceUrl: string; readonly clientId: string }) => string;
  /** What its own connection check shows once the new token is in. */
  readonly connectionCheck: string;
}

const EXALATE: ConsumerProfile = {
  label: 'Exalate',
  pasteSteps: ({ instanceUrl, clientId }) =>
    pasteStepsIn(
      "In Exalate's settings for this ServiceNow node (where the guide had you paste the curl output):",
      `ServiceNow instance: ${instanceUrl}`,
      clientId,
    ),
  connectionCheck:
    'Exalate then raises no "no access is possible" flag for this node, and its next synchronisation reaches ServiceNow (the connection shows as active). A raised flag means the token or the client secret was pasted wrong: paste them again.',
};

/** The five fields a tool's connection settings take, in the order its screen shows them. */
function pasteStepsIn(where: string, instanceField: string, clientId: string): string {
  return [
    where,
    `  1. ${instanceField}`,
    `  2. Client ID: ${clientId}`,
    '  3. Client secret: the one you typed at the prompt (it is not shown here).',
    '  4. Refresh token: the value shown once below (or in the owner-only file).',
    '  5. Save.',
  ].join('\n');
}

const KNOWN: Readonly<Record<string, ConsumerProfile>> = { exalate: EXALATE };

export function consumerProfile(consumer: string): ConsumerProfile {
  const known = KNOWN[consumer.replace(/-.*$/, '')];
  if (known) return known;
  const label = consumer;
  return {
    label,
    pasteSteps: ({ instanceUrl, clientId }) =>
      pasteStepsIn(`In ${label}'s ServiceNow connection settings:`, `Instance URL: ${instanceUrl}`, clientId),
    connectionCheck: `${label}'s own connection test should then succeed; its next sync should reach ServiceNow.`,
  };
}
