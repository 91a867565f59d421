/**
 * AWS's public list prices used by the cost estimate: one dated table, us-east-1, USD. Re-check
 * them (and the date) when the estimate matters; `confirmed` says whether a second public source
 * was found for the figure when it was taken.
 */
export const AWS_PRICES = {
  takenOn: '2026-05-06',
  region: 'us-east-1',
  secretsManager: {
    perSecretMonth: 0.4,
    perApiCall: 0.05 / 10_000,
    confirmed: true,
  },
  lambdaArm64: {
    perGbSecond: 0.0000133334,
    perRequest: 0.2 / 1_000_000,
    confirmed: false,
  },
  dynamoDbOnDemand: {
    // After the November 2024 price cut (half the earlier $0.25 and $1.25).
    perReadRequestUnit: 0.125 / 1_000_000,
    perWriteRequestUnit: 0.625 / 1_000_000,
    confirmed: true,
  },
  sns: {
    perPublish: 0.5 / 1_000_000,
    perEmail: 2 / 100_000,
    confirmed: false,
  },
  eventBridge: {
    perCustomEvent: 1 / 1_000_000,
    confirmed: false,
  },
  cloudWatch: {
    /** First 10 000 metrics. */
    perMetricMonth: 0.3,
    perLogGbIngested: 0.5,
    perStandardAlarmMonth: 0.1,
    /** Beyond the 3 free dashboards of an account. */
    perDashboardMonth: 3,
    confirmed: true,
  },
  kms: {
    perCustomerManagedKeyMonth: 1,
    confirmed: false,
  },
} as const;

export type AwsPrices = typeof AWS_PRICES;
