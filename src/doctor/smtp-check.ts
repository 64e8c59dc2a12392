// The doctor's SMTP check: the server answers and accepts the configured login (nodemailer's verify).
import nodemailer from 'nodemailer';
import type { Config } from '../config';
import { withTimeout } from '../with-timeout';
import {
  CHECK_TIMEOUT_MS,
  ok,
  problem,
  warning,
  why,
  withoutCredentials,
  type CheckResult,
} from './check-result';
import type { RunbookNeeds } from './runbook-checks';

/** The SMTP server answers and accepts the configured login (nodemailer's verify). */
export async function checkSmtp(config: Config, needs: RunbookNeeds): Promise<CheckResult> {
  if (!config.smtp.url)
    return needs.email
      ? warning(
          'smtp',
          'runbooks send email, but REBOUND_SMTP_URL is not set: those mails are not sent',
          'set REBOUND_SMTP_URL (smtp://user:pass@host:587) and REBOUND_MAIL_FROM',
        )
      : ok('smtp', 'not configured, and no runbook sends email');
  const shown = withoutCredentials(config.smtp.url);
  const transport = nodemailer.createTransport(config.smtp.url, {
    connectionTimeout: 3000,
    greetingTimeout: 3000,
    socketTimeout: 3000,
  } as object);
  try {
    await withTimeout(transport.verify(), CHECK_TIMEOUT_MS, shown);
    return ok('smtp', `${shown} answers`);
  } catch (error) {
    return problem(
      'smtp',
      `${shown}: ${why(error)}`,
      'check REBOUND_SMTP_URL (host, port, user and password) and that this host may reach it',
    );
  } finally {
    transport.close();
  }
}
