// PLACEHOLDER — the integrations wire their activities here.
import type { Config } from '../config';
import type { ReboundActivities } from './types';

export function createActivities(_config: Config): Partial<ReboundActivities> {
  return {};
}
