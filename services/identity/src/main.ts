import { runServiceMain } from '@anfang/platform/service';
import identityService from './service.ts';

await runServiceMain(identityService);
