/**
 * The city-cluster simulation behind `citymesh simulate` (`npm start`): an anchor and N
 * cities as separate processes on loopback, put through named scenarios; a JSON report
 * (the contract of ARCHITECTURE.md) and an HTML page with charts.
 *
 * @packageDocumentation
 */
export { renderReportHtml } from './html/render-report.js';
export { type Fault, planSimulation, type SimulateArgs, type SimulationPlan } from './options.js';
export { rssMb } from './processes.js';
export {
  type CheckResult,
  type OperationMetrics,
  renderSummary,
  type SimulationReport,
  writeReport,
} from './report.js';
export { runSimulation } from './run-simulation.js';
export { NODE_REFRESH_INTERVAL_SECONDS, type SimulationInit } from './run-state.js';
export { SCENARIO_NAMES, SCENARIOS, type ScenarioName, selectScenarios } from './scenarios.js';
export { SimulationUsageError } from './usage-error.js';
