import { runServiceMain } from '@anfang/platform/service';
import videoIndexService from './service.ts';

await runServiceMain(videoIndexService);
