import { runServiceMain } from '@anfang/platform/service';
import complianceScoringService from './service.ts';

await runServiceMain(complianceScoringService);
