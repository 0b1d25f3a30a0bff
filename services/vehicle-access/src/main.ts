import { runServiceMain } from '@anfang/platform/service';
import vehicleAccessService from './service.ts';

await runServiceMain(vehicleAccessService);
