// Workflow bundles with code runbooks compiled in, built as the worker builds them (once per directory
// and test process).
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowSource } from '../../src/runbooks/code-bundle';

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const bundles = new Map<string, Promise<{ code: string }>>();

/** The workflows and the code runbooks of `dir`, bundled. */
export function codeRunbookBundle(dir: string): Promise<{ code: string }> {
  let bundle = bundles.get(dir);
  if (!bundle) {
    bundle = bundleWorkflowCode({ ...workflowSource(dir), logger: quiet });
    bundles.set(dir, bundle);
  }
  return bundle;
}
