#!/usr/bin/env node
// zero-cache: registers tsx so the TypeScript sources run as they are, then starts.
import {register} from 'tsx/esm/api';

register();
await import('@zync/cache/main');
