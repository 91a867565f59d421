import type { TestProject } from 'vitest/node';
import { type MotoServer, startMoto } from './moto-server';

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoint: string;
  }
}

let moto: MotoServer | undefined;

/** One moto server for the whole run; tests isolate themselves by unique resource names. */
export async function setup(project: TestProject) {
  moto = await startMoto();
  project.provide('motoEndpoint', moto.endpoint);
}

export async function teardown() {
  await moto?.stop();
}
