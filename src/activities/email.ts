// Escalation mail over SMTP (nodemailer). Each mail has a Message-ID derived from the incident and step,
// so a retried attempt sends recognisably the same mail. SMTP's own answer decides retrying: 4xx is
// "try again later", 5xx is a refusal.
import { escapeHtml } from '../html-escape';
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { badParameters, errorMessage, FailureType, notConfigured, requireString } from './errors';
import type { NotifyParams, NotifyResult, StepInput } from './types';

export interface EmailSettings {
  url?: string;
  from: string;
  timeoutMs: number;
  publicUrl?: string;
}

/** The same incident and step always give the same Message-ID. */
export function messageId(incidentId: string, stepId: string, from: string): string {
  const hash = createHash('sha256').update(`${incidentId}\n${stepId}`).digest('hex').slice(0, 32);
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'rebound.local';
  return `<rebound.${hash}@${domain}>`;
}

function recipients(to: string | string[] | undefined): string[] {
  const list = (Array.isArray(to) ? to : typeof to === 'string' ? to.split(',') : [])
    .map((a) => (typeof a === 'string' ? a.trim() : ''))
    .filter(Boolean);
  if (list.length === 0) throw badParameters('to must name at least one email address');
  for (const address of list) {
    // Header injection and obviously wrong addresses are refused before anything is sent.
    if (/[\r\n]/.test(address) || !/^[^@\s<>]+@[^@\s<>]+$/.test(address.replace(/^.*<(.*)>$/, '$1')))
      throw badParameters(`not an email address: ${JSON.stringify(address)}`);
  }
  return list;
}

interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
}

/** 4xx and connection trouble retry; 5xx (refused: auth, recipient, content) does not. */
export function smtpFailure(error: unknown): ApplicationFailure {
  const e = error as SmtpError;
  const code = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const detail = e.response ?? errorMessage(error);
  if (code !== undefined && code >= 500)
    return ApplicationFailure.create({
      message: `SMTP server refused the mail (${code}): ${detail}`,
      type: FailureType.SmtpRejected,
      nonRetryable: true,
      details: [{ responseCode: code, code: e.code }],
    });
  return ApplicationFailure.create({
    message:
      code !== undefined
        ? `SMTP server deferred the mail (${code}): ${detail}`
        : `SMTP delivery failed (${e.code ?? 'error'}): ${detail}`,
    type: code !== undefined ? 'SmtpDeferred' : 'SmtpUnavailable',
    nonRetryable: false,
    details: [{ responseCode: code, code: e.code }],
  });
}

export interface EmailIntegration {
  notify: (input: StepInput<NotifyParams>) => Promise<NotifyResult>;
}

export function createEmailActivities(settings: EmailSettings): EmailIntegration {
  let transport: Transporter<SMTPTransport.SentMessageInfo> | undefined;
  const smtp = (): Transporter<SMTPTransport.SentMessageInfo> => {
    if (!settings.url) throw notConfigured('Email', 'REBOUND_SMTP_URL (smtp.url)');
    const url = new URL(settings.url);
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
      throw ApplicationFailure.nonRetryable(
        `smtp.url (REBOUND_SMTP_URL) must be smtp:// or smtps://, got ${url.protocol}`,
        FailureType.NotConfigured,
      );
    transport ??= nodemailer.createTransport({
      // nodemailer reads host, port, auth and TLS mode (smtps: implicit TLS; smtp: STARTTLS when offered) from the URL.
      url: settings.url,
      connectionTimeout: settings.timeoutMs,
      greetingTimeout: settings.timeoutMs,
      socketTimeout: settings.timeoutMs,
      // One mail per activity: no pooled connections that outlive the attempt.
      pool: false,
    });
    return transport;
  };

  return {
    async notify({ params, ctx }) {
      if (params?.channel !== 'email')
        throw badParameters(
          `the email integration cannot deliver to channel ${JSON.stringify(params?.channel)}`,
        );
      const to = recipients(params.to);
      const text = requireString(params.text, 'text');
      const subject = (params.subject ?? `[Rebound] ${ctx.runbook}: incident ${ctx.incidentId}`).replace(
        /[\r\n]+/g,
        ' ',
      );
      const link = settings.publicUrl
        ? `${settings.publicUrl.replace(/\/+$/, '')}/incidents/${encodeURIComponent(ctx.incidentId)}`
        : undefined;
      const facts: [string, string][] = [
        ['Incident', ctx.incidentId],
        ['Runbook', ctx.runbook],
        ['Step', ctx.stepId],
        ...(ctx.dryRun ? ([['Mode', 'dry run']] as [string, string][]) : []),
      ];
      const plain = `${text}\n\n${facts.map(([k, v]) => `${k}: ${v}`).join('\n')}${link ? `\n\nDetails: ${link}` : ''}\n`;
      const html =
        `<pre style="font-family:inherit;white-space:pre-wrap">${escapeHtml(text)}</pre>` +
        `<table>${facts.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>` +
        (link ? `<p><a href="${escapeHtml(link)}">Incident details</a></p>` : '');
      const id = messageId(ctx.incidentId, ctx.stepId, settings.from);
      let info: SMTPTransport.SentMessageInfo;
      try {
        info = await smtp().sendMail({
          from: settings.from,
          to,
          subject,
          text: plain,
          html,
          messageId: id,
          headers: { 'X-Rebound-Incident': ctx.incidentId.replace(/[\r\n]/g, ' ') },
        });
      } catch (error) {
        if (error instanceof ApplicationFailure) throw error;
        throw smtpFailure(error);
      }
      return { channel: 'email', id: info.messageId || id };
    },
  };
}
