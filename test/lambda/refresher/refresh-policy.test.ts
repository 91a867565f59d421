import { describe, expect, it } from 'vitest';
import {
  decide,
  nextAttemptAfterFailure,
  DEFAULT_REFRESH_SETTINGS as settings,
} from '../../../lambda/refresher/refresh-policy';
import type { InstanceState } from '../../../lambda/shared/state/instance-state';

const now = Date.UTC(2026, 0, 10, 12, 0, 0);
const minute = 60_000;
const state = (fields: Partial<InstanceState>): InstanceState => ({
  instance: 'acme',
  version: 1,
  ...fields,
});

describe('decide', () => {
  it('acts when nothing is stored yet', () => {
    expect(decide(undefined, now, settings)).toEqual({ act: true, reason: 'no-token' });
  });

  it('waits while the token has more than the refresh-ahead time left, until that point', () => {
    const expiresAt = now + 20 * minute;
    expect(decide(state({ accessTokenExpiresAt: expiresAt }), now, settings)).toEqual({
      act: false,
      reason: 'fresh',
      recheckAt: expiresAt - settings.refreshAheadMs,
    });
  });

  it('refreshes early within the refresh-ahead time when the instance is not known to echo', () => {
    const decision = decide(state({ accessTokenExpiresAt: now + 2 * minute }), now, settings);
    expect(decision).toEqual({ act: true, reason: 'expiring' });
  });

  it('names the second after expiry when the instance hands back the current token early', () => {
    const expiresAt = now + 2 * minute;
    const decision = decide(
      state({ accessTokenExpiresAt: expiresAt, echoesEarlyRefresh: true }),
      now,
      settings,
    );
    expect(decision).toEqual({
      act: false,
      reason: 'waiting-for-expiry',
      recheckAt: expiresAt + settings.expirySlackMs,
      wakeAt: expiresAt + settings.expirySlackMs,
    });
  });

  it('acts once the slack after expiry has passed on an echoing instance', () => {
    const expiresAt = now - settings.expirySlackMs;
    expect(
      decide(state({ accessTokenExpiresAt: expiresAt, echoesEarlyRefresh: true }), now, settings),
    ).toEqual({
      act: true,
      reason: 'expired',
    });
  });

  it('respects the backoff after a failure', () => {
    const decision = decide(
      state({ accessTokenExpiresAt: now - minute, nextAttemptAt: now + minute }),
      now,
      settings,
    );
    expect(decision).toEqual({ act: false, reason: 'backing-off', recheckAt: now + minute });
  });

  it('ignores everything when forced', () => {
    expect(
      decide(
        state({ accessTokenExpiresAt: now + 60 * minute, nextAttemptAt: now + minute }),
        now,
        settings,
        true,
      ),
    ).toEqual({
      act: true,
      reason: 'forced',
    });
  });
});

describe('nextAttemptAfterFailure', () => {
  it('waits the permanent retry time after a rejected grant', () => {
    expect(
      nextAttemptAfterFailure({
        now,
        transient: false,
        consecutiveFailures: 1,
        accessTokenExpiresAt: undefined,
        settings,
      }),
    ).toBe(now + settings.permanentRetryMs);
  });

  it('backs off exponentially on transient failures while the token has time left', () => {
    const far = now + 60 * minute;
    const first = nextAttemptAfterFailure({
      now,
      transient: true,
      consecutiveFailures: 1,
      accessTokenExpiresAt: far,
      settings,
    });
    const third = nextAttemptAfterFailure({
      now,
      transient: true,
      consecutiveFailures: 3,
      accessTokenExpiresAt: far,
      settings,
    });
    expect(first).toBe(now + settings.transientBackoffBaseMs);
    expect(third).toBe(now + 4 * settings.transientBackoffBaseMs);
  });

  it('caps the transient backoff', () => {
    const far = now + 600 * minute;
    expect(
      nextAttemptAfterFailure({
        now,
        transient: true,
        consecutiveFailures: 30,
        accessTokenExpiresAt: far,
        settings,
      }),
    ).toBe(now + settings.transientBackoffMaxMs);
  });

  it('retries on every run once the stored token is near its end', () => {
    expect(
      nextAttemptAfterFailure({
        now,
        transient: true,
        consecutiveFailures: 1,
        accessTokenExpiresAt: now + minute,
        settings,
      }),
    ).toBeUndefined();
  });
});

describe('the refresh token end', () => {
  const issuedAt = now - 100 * 86_400_000;

  it('makes one attempt right after the recorded end of the refresh token', () => {
    const s = state({
      accessTokenExpiresAt: now + 60 * minute,
      refreshTokenIssuedAt: issuedAt,
      refreshTokenLifespanSeconds: 8_640_000,
      grant: 'password',
      lastAttemptAt: now - minute,
    });
    expect(decide(s, now, settings)).toEqual({ act: true, reason: 'refresh-token-lapsed' });
  });

  it('does not repeat that attempt once made', () => {
    const s = state({
      accessTokenExpiresAt: now + 60 * minute,
      refreshTokenIssuedAt: issuedAt,
      refreshTokenLifespanSeconds: 8_640_000,
      grant: 'password',
      lastAttemptAt: now,
    });
    expect(decide(s, now, settings).act).toBe(false);
  });

  it('looks again exactly at the end of the refresh token when that comes first', () => {
    const end = now + 10 * minute;
    const s = state({
      accessTokenExpiresAt: now + 60 * minute,
      refreshTokenIssuedAt: end - 8_640_000_000,
      refreshTokenLifespanSeconds: 8_640_000,
      grant: 'password',
    });
    expect(decide(s, now, settings)).toMatchObject({ act: false, reason: 'fresh', recheckAt: end });
  });

  it.each(['client_credentials', 'jwt_bearer'] as const)(
    'knows no refresh token end on the %s grant, whatever stale fields say',
    (grant) => {
      const s = state({
        accessTokenExpiresAt: now + 60 * minute,
        refreshTokenIssuedAt: issuedAt,
        refreshTokenLifespanSeconds: 8_640_000,
        grant,
        lastAttemptAt: now - minute,
      });
      expect(decide(s, now, settings)).toEqual({
        act: false,
        reason: 'fresh',
        recheckAt: now + 60 * minute - settings.refreshAheadMs,
      });
    },
  );
});
