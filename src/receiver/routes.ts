// Every feature's routes, in one list the commands and tests share.
import { alertIntakeRoutes } from './alert-routes';
import type { RouteModule } from './index';

export const ROUTE_MODULES: RouteModule[] = [alertIntakeRoutes];
