/**
 * Checks that keep the security guards meaningful, shared by the deployment configuration
 * (lib/deployment-config.ts) and the construct's props: each returns a problem sentence that says
 * what to use instead, with an example, or undefined when the value is fine.
 */

/** The partitions whose IAM ARNs we know, and the region prefixes that belong to each. */
export const KNOWN_PARTITIONS = ['aws', 'aws-cn', 'aws-us-gov'] as const;
export type Partition = (typeof KNOWN_PARTITIONS)[number];

export function partitionOfRegion(region: string): Partition {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

const OPERATOR_EXAMPLE = '"arn:aws:iam::123456789012:role/ServiceNowTokenOperator"';
const PARTITION = `(${KNOWN_PARTITIONS.join('|')})`;
/** A role or user ARN; `*` and `?` only in the name, after at least one literal character. */
const PRINCIPAL_ARN = new RegExp(
  `^arn:${PARTITION}:iam::(\\d{12}):(role|user)/([A-Za-z0-9+=,.@_/-]+[A-Za-z0-9+=,.@_/*?-]*)$`,
);
const ASSUMED_ROLE_ARN = new RegExp(`^arn:${PARTITION}:sts::(\\d{12}):assumed-role/([^/]+)/.+$`);

export interface ParsedPrincipalArn {
  readonly partition: Partition;
  readonly account: string;
}

/**
 * An operator ARN as `aws:PrincipalArn` will see it: a role or user ARN in a known partition,
 * of one account (no wildcard there), never a session's assumed-role ARN (which never equals
 * `aws:PrincipalArn`, so it would lock the operator out).
 */
export function operatorArnProblem(arn: string): string | undefined {
  const assumed = ASSUMED_ROLE_ARN.exec(arn);
  if (assumed) {
    const [, partition, account, role = ''] = assumed;
    // IAM Identity Center roles live under a fixed path, which the session ARN leaves out.
    const path = role.startsWith('AWSReservedSSO_') ? 'aws-reserved/sso.amazonaws.com/' : '';
    return `"${arn}" is a session (sts assumed-role) ARN, which never matches aws:PrincipalArn; use the role's ARN, "arn:${partition}:iam::${account}:role/${path}${role}" (with the role's path, if it has one)`;
  }
  const parsed = PRINCIPAL_ARN.exec(arn);
  if (!parsed) {
    return `"${arn}" is not an IAM role or user ARN of one account; use one like ${OPERATOR_EXAMPLE} (wildcards only in the name, e.g. ".../role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_TokenOperator_*")`;
  }
  const name = parsed[4] ?? '';
  if (/^[^*?]*\/[*?]/.test(name) || /^[*?]/.test(name)) {
    return `"${arn}" matches every ${parsed[3]} under a path; name the operators' role, e.g. ${OPERATOR_EXAMPLE}`;
  }
  return undefined;
}

export function parsePrincipalArn(arn: string): ParsedPrincipalArn | undefined {
  const parsed = PRINCIPAL_ARN.exec(arn);
  return parsed ? { partition: parsed[1] as Partition, account: parsed[2] ?? '' } : undefined;
}

/** An ARN of another account or partition than the stack's, where the stack's are known. */
export function foreignArnProblem(
  what: string,
  arn: { readonly partition: string; readonly account: string; readonly region?: string },
  stack: { readonly account?: string; readonly region?: string },
  example: string,
): string | undefined {
  if (stack.account !== undefined && arn.account !== stack.account) {
    return `${what} is in account ${arn.account}, not the stack's ${stack.account}; use one of ${stack.account}, e.g. ${example}`;
  }
  if (stack.region !== undefined) {
    if (arn.partition !== partitionOfRegion(stack.region)) {
      return `${what} is in partition ${arn.partition}, not ${partitionOfRegion(stack.region)} of the stack's region ${stack.region}; e.g. ${example}`;
    }
    if (arn.region !== undefined && arn.region !== stack.region) {
      return `${what} is in region ${arn.region}, not the stack's ${stack.region} (Secrets Manager needs a key of its own region); e.g. ${example}`;
    }
  }
  return undefined;
}

const KMS_KEY_ARN = new RegExp(`^arn:${PARTITION}:kms:([a-z0-9-]+):(\\d{12}):key/[a-f0-9-]+$`);

export function parseKmsKeyArn(
  arn: string,
): { readonly partition: string; readonly region: string; readonly account: string } | undefined {
  const parsed = KMS_KEY_ARN.exec(arn);
  return parsed
    ? { partition: parsed[1] ?? '', region: parsed[2] ?? '', account: parsed[3] ?? '' }
    : undefined;
}

/**
 * A host name that can only be a real, public instance host: at least two labels, a letter TLD,
 * no IP address in any notation, no localhost.
 */
export function allowedHostProblem(host: string): string | undefined {
  const example = 'e.g. "servicenow.acme.example"';
  const labels = host.split('.');
  const tld = labels.at(-1) ?? '';
  if (/^[0-9.]+$/.test(host) || /^0x/i.test(host) || host.includes(':') || host.includes('[')) {
    return `"${host}" is an IP address; name the instance's DNS host, ${example}`;
  }
  if (host === 'localhost' || tld === 'localhost') {
    return `"${host}" is this machine, not an instance; name the instance's DNS host, ${example}`;
  }
  if (labels.length < 2) {
    return `"${host}" is a bare top-level domain; name one host, ${example}`;
  }
  const label = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
  if (!labels.every((l) => label.test(l)) || !/^[a-z]{2,63}$/.test(tld) || host.length > 253) {
    return `"${host}" is not a host name; use lower-case labels of letters, digits and dashes, ${example}`;
  }
  return undefined;
}
