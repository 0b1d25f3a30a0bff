import { runServiceMain } from '@anfang/platform/service';
import gatewayService from './service.ts';

await runServiceMain(gatewayService);
