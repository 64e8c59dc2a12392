// Which activity carries out each activity step type.
import type { ReboundActivities } from '../activities/types';

export const ACTIVITY_FOR_STEP = {
  'container.inspect': 'containerInspect',
  'container.restart': 'containerRestart',
  'container.start': 'containerStart',
  'container.stop': 'containerStop',
  'container.failover': 'containerFailover',
  'container.wait-healthy': 'containerWaitHealthy',
  'probe.http': 'probeHttp',
  'probe.tcp': 'probeTcp',
  'prometheus.query': 'prometheusQuery',
  'impact.assess': 'impactAssess',
  'http.call': 'httpCall',
  notify: 'notify',
} as const satisfies Record<string, keyof ReboundActivities>;
