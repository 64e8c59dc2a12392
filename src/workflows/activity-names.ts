// Which activity carries out each activity step type: derived from the step definitions (src/steps/).
export { ACTIVITY_FOR_STEP } from '../steps/registry';
