/**
 * vitest glue for the fake OpenAI server: fail the test that left a problem in the fake (a step that threw, a step
 * never consumed, an unexpected call, a request the API would refuse), and start the next test clean.
 */
import { afterEach, onTestFinished } from 'vitest';
import type { FakeOpenAI } from './types.js';

/** Throws the fake's problems, if any; forgets them either way (`takeProblems`). */
export function checkOpenAI(openai: FakeOpenAI): void {
  const problems = openai.takeProblems();
  if (problems.length > 0) throw new Error(`openai fake: ${problems.join('; ')}`);
}

/** Registers `checkOpenAI` as an `afterEach` of the enclosing describe (call it at collection time). */
export function checkOpenAIAfterEach(openai: () => FakeOpenAI | undefined): void {
  afterEach(() => {
    const fake = openai();
    if (fake) checkOpenAI(fake);
  });
}

/**
 * Returns `arm()`: inside a running vitest test, the first call attaches `checkOpenAI` to that test
 * (`onTestFinished`), so the test that caused a problem is the one that fails. Outside a test (a `beforeAll`, the
 * bench, plain node) `arm()` does nothing; problems left there are reported by the next armed test.
 */
export function perTestCheck(openai: () => FakeOpenAI | undefined): () => void {
  let armed = false;
  return () => {
    if (armed || !process.env.VITEST) return;
    try {
      onTestFinished(() => {
        armed = false;
        const fake = openai();
        if (fake) checkOpenAI(fake);
      });
      armed = true;
    } catch {
      // Not inside a test.
    }
  };
}
