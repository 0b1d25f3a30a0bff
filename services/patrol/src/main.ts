import { runServiceMain } from '@anfang/platform/service';
import patrolService from './service.ts';

await runServiceMain(patrolService);
