import { runServiceMain } from '@anfang/platform/service';
import deviceIngestService from './service.ts';

await runServiceMain(deviceIngestService);
