// Every feature's routes, in one list the commands and tests share.
import { consoleRoutes } from '../console/routes';
import { alertIntakeRoutes } from './alert-routes';
import { approvalRoutes } from './approval-routes';
import type { RouteModule } from './index';
import { slackInteractionRoutes } from './slack-interactions';

export const ROUTE_MODULES: RouteModule[] = [
  alertIntakeRoutes,
  approvalRoutes,
  slackInteractionRoutes,
  consoleRoutes,
];
