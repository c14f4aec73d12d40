import { StoreError } from './key-value-store.js';

/** Runs one store operation; whatever the driver throws becomes a StoreError saying what failed. */
export async function guard<T>(work: () => Promise<T>, what: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new StoreError(`Could not ${what}`, { cause: error });
  }
}
