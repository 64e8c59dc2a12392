// Writes runbooks/runbook.schema.json from src/runbooks/schema.ts (the one source of truth).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runbookSchemaText } from '../src/runbooks/schema';

const file = path.resolve(__dirname, '..', 'runbooks', 'runbook.schema.json');
writeFileSync(file, runbookSchemaText());
console.log(`wrote ${file}`);
