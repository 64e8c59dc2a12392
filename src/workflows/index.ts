// Every workflow the worker registers. Deterministic code only (see eslint.config.mjs).
export { incident } from './incident';
export { control, targetBudget, targetLock } from './guard-workflows';
