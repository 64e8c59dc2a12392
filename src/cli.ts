// The `rebound` command. Each group of subcommands lives in src/commands/ and registers itself here.
import { Command, CommanderError } from 'commander';
import { EXIT } from './commands/common';
import { registerAlertCommands } from './commands/alert';
import { registerAuditCommands } from './commands/audit';
import { registerConfigCommands } from './commands/config';
import { registerApprovalCommands } from './commands/approvals';
import { registerDemoCommands } from './commands/demo';
import { registerDevCommands } from './commands/dev';
import { registerDoctorCommands } from './commands/doctor';
import { registerIncidentCommands } from './commands/incidents';
import { registerRunbookCommands } from './commands/runbooks';
import { registerGuardCommands } from './commands/guards';
import { escapeControls, printErr } from './terminal-text';

const program = new Command('rebound')
  .description('Durable recovery runbooks for Prometheus Alertmanager alerts, on Temporal')
  .version('0.1.0')
  .showHelpAfterError()
  // A usage error (unknown option, missing argument) is exit 2 like every other bad argument; the
  // subcommands registered below inherit both settings. Arguments are echoed escaped.
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(escapeControls(text, { keepLineBreaks: true })) });

registerDevCommands(program);
registerDemoCommands(program);
registerDoctorCommands(program);
registerConfigCommands(program);
registerRunbookCommands(program);
registerAlertCommands(program);
registerGuardCommands(program);
registerIncidentCommands(program);
registerAuditCommands(program);
// Last: it adds `incidents pending` to an `incidents` group another module may have created.
registerApprovalCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  // Commander has printed its message already; --help and --version end with 0.
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    return;
  }
  printErr(`rebound: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = EXIT.usage;
});
