/**
 * Test doubles of the stores' own contracts (lambda/shared): the unit tier runs the function cores
 * on these, with no emulator. Each keeps the promises of its interface that the cores rely on, and
 * one contract suite per interface runs against both it and the AWS implementation, so the double
 * cannot drift from the real one.
 */
export { InMemoryIncidentStore } from './incident-store';
export { RecordingNotifier } from './notifier';
export { InMemoryRefreshRequestLimit } from './refresh-request-limit';
export { InMemorySecretStore } from './secret-store';
export { InMemoryStateStore, type InMemoryStateStoreOptions } from './state-store';
