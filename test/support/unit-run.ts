// `npm run test:unit` runs only *.unit.test.ts files with REBOUND_TEST_UNIT=1: a helper that starts
// or needs a server refuses there, so a unit file that grew a server dependency fails saying why.

export function refuseInUnitRun(what: string): void {
  if (process.env.REBOUND_TEST_UNIT === '1') {
    throw new Error(
      `This is a unit run (npm run test:unit) and this test needs ${what}: a *.unit.test.ts file needs no server. Rename it *.test.ts (npm test runs it with its servers).`,
    );
  }
}
