export { BENCHES, findBench, type Bench } from './benches.ts';
export { replaceReadmeSection, summarise, toMarkdown, type BenchOutcome, type Summary } from './summary.ts';
