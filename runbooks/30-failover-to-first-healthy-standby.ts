// A code runbook: fail a primary over to the first healthy of its standbys, in order, asking people
// once, before the first switch. A YAML runbook would need one step block per standby and a goto
// chain; here it is a loop. Every step still goes through Rebound's guards, dry run and record.
import { codeRunbook } from 'rebound/runbook';

export default codeRunbook({
  name: 'failover-to-first-healthy-standby',
  description:
    'Fail a primary over to the first of its standbys that comes up healthy, in order; one approval before the first switch.',
  matchers: ['alertname = "PrimaryDown"', 'service =~ ".+"'],
  target: '{{ labels.service }}',
  defaults: { timeout: '30s' },
  holdOpen: '15m',

  async procedure(rb) {
    const service = rb.labels.service ?? '';
    const primary = `${service}-primary`;
    // The standbys, in the order to try them: the alert's `standbys` annotation, or two by convention.
    const standbys = (rb.alert.annotations.standbys ?? `${service}-standby-1,${service}-standby-2`)
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '');

    rb.phase('detect');
    const seen = await rb.step('container.inspect', { container: primary }, { id: 'primary' });
    if (seen.status === 'succeeded' && seen.output.running && seen.output.health !== 'unhealthy') {
      rb.note(`${primary} is running and not unhealthy: nothing to do`);
      return;
    }

    rb.phase('remediate');
    await rb.approval(
      {
        approvers: ['alice', 'bob'],
        groups: ['sre'],
        prompt: `Fail ${primary} over to the first healthy of ${standbys.join(', ')}?`,
        timeout: '30m',
        onTimeout: 'escalate',
      },
      { id: 'approve' },
    );

    // Each switch stops what serves now and starts the next standby; the step fails unless that
    // standby comes up healthy, and then the next one is tried, without asking again.
    let serving = primary;
    for (const [index, standby] of standbys.entries()) {
      const switched = await rb.step(
        'container.failover',
        { primary: serving, standby, stopTimeout: 10 },
        { id: `failover-${index + 1}`, timeout: '30s', retry: { maximumAttempts: 1 }, onFailure: 'continue' },
      );
      serving = standby;
      if (switched.status === 'succeeded') {
        rb.phase('validate');
        rb.note(`${standby} took over from ${primary}`);
        return;
      }
      rb.note(`${standby} did not come up healthy; trying the next standby`);
    }
    await rb.escalate(`no standby of ${primary} came up healthy (tried ${standbys.join(', ')})`);
  },

  async escalation(rb) {
    await rb.notify(
      { channel: 'slack', text: `${rb.incident.target}: failover needs a human (${rb.incident.id})` },
      { id: 'tell' },
    );
  },
});
