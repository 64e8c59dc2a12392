// A bound on how long the CLI waits for something outside it (a doctor check, the demo's engine),
// so a silent service becomes a message instead of a hang.

/** Resolves or rejects as promise does, or rejects saying `what` did not answer within ms. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
