import { runServiceMain } from '@anfang/platform/service';
import perimeterAlarmsService from './service.ts';

await runServiceMain(perimeterAlarmsService);
