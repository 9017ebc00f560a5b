import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../../src/core/config/resolve.js';
import { memberSettingsFromConfig } from '../../../../src/core/planner/settings.js';

const settingsOf = (env: Record<string, string>) => memberSettingsFromConfig(resolveConfig({ scope: 'node', env }).config);

describe('memberSettingsFromConfig', () => {
  it('enforces fencing unless the test-only GOVERSE_TEST_DISABLE_FENCING is set', () => {
    expect(settingsOf({}).fencing).toBe('enforced');
    expect(settingsOf({ GOVERSE_TEST_DISABLE_FENCING: '0' }).fencing).toBe('enforced');
    expect(settingsOf({ GOVERSE_TEST_DISABLE_FENCING: '1' }).fencing).toBe('disabled-for-tests');
  });

  it('derives the fence margin from the lease TTL: a fifth, at most 2 s', () => {
    expect(settingsOf({ GOVERSE_LEASE_TTL: '15s' })).toMatchObject({ leaseTtlSeconds: 15, fenceMarginMs: 2000 });
    expect(settingsOf({ GOVERSE_LEASE_TTL: '5s' })).toMatchObject({ leaseTtlSeconds: 5, fenceMarginMs: 1000 });
    expect(settingsOf({ GOVERSE_LEASE_TTL: '2s' })).toMatchObject({ leaseTtlSeconds: 2, fenceMarginMs: 400 });
  });
});
