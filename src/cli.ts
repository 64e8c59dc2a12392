// The `rebound` command. Each group of subcommands lives in src/commands/ and registers itself here.
import { Command } from 'commander';
import { registerAuditCommands } from './commands/audit';
import { registerDevCommands } from './commands/dev';
import { registerIncidentCommands } from './commands/incidents';
import { registerRunbookCommands } from './commands/runbooks';

const program = new Command('rebound')
  .description('Durable recovery runbooks for Prometheus Alertmanager alerts, on Temporal')
  .version('0.1.0')
  .showHelpAfterError();

registerDevCommands(program);
registerRunbookCommands(program);
registerIncidentCommands(program);
registerAuditCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`rebound: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
});
