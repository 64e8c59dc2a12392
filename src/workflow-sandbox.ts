// Limits of the sandbox the worker runs workflow code in, shared by the worker and the tests' workers.
//
// The SDK's default time limit for one activation is 5 s. When it is hit, Node's vm timeout fires
// inside the SDK's async hooks and the whole worker process aborts ("async hook stack has become
// corrupted"); the replacement worker replays the same activation and aborts again. A burst of
// hundreds of alert notifications for one incident on a loaded host took 10 s in one activation.
// Rebound's workflow code has no unbounded loop (runbooks are data, regexes are RE2), so a long
// activation is slow, not stuck: it is given a minute, and the workflow task timeout retries it.
export const WORKFLOW_SANDBOX_OPTIONS = { isolateExecutionTimeout: '60s' } as const;
