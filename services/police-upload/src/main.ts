import { runServiceMain } from '@anfang/platform/service';
import policeUploadService from './service.ts';

await runServiceMain(policeUploadService);
