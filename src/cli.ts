// The `rebound` command. Each group of subcommands lives in src/commands/ and registers itself here.
import { Command } from 'commander';
import { registerAlertCommands } from './commands/alert';
import { registerAuditCommands } from './commands/audit';
import { registerConfigCommands } from './commands/config';
import { registerApprovalCommands } from './commands/approvals';
import { registerDemoCommands } from './commands/demo';
import { registerDevCommands } from './commands/dev';
import { registerDoctorCommands } from './commands/doctor';
import { registerIncidentCommands } from './commands/incidents';
import { registerRunbookCommands } from './commands/runbooks';
import { registerSafetyCommands } from './commands/safety';

const program = new Command('rebound')
  .description('Durable recovery runbooks for Prometheus Alertmanager alerts, on Temporal')
  .version('0.1.0')
  .showHelpAfterError();

registerDevCommands(program);
registerDemoCommands(program);
registerDoctorCommands(program);
registerConfigCommands(program);
registerRunbookCommands(program);
registerAlertCommands(program);
registerSafetyCommands(program);
registerIncidentCommands(program);
registerAuditCommands(program);
// Last: it adds `incidents pending` to an `incidents` group another module may have created.
registerApprovalCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`rebound: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
});
