// Where the workflow code lives, for the worker's bundle and for `rebound replay`: its own module so
// that replaying histories loads no activity code (no dockerode, nodemailer or Slack client).
import path from 'node:path';

export const WORKFLOWS_PATH = path.join(__dirname, 'workflows', 'index.ts');
