export {
  startSimulator,
  formatStats,
  type RunningSimulator,
  type SimulatorOptions,
  type SimulatorStats,
  type ProtocolStats,
} from './simulator.ts';
export { buildCompounds, buildDevices, readCompoundCsv, type Compound, type SimDevice } from './catalog.ts';
