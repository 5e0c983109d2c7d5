// Node 20 has no global WebSocket, which the Zero client dials with (browsers and Node 22
// have one); an app on Node 20 sets it from the ws package, and so does every test file here.
// One setup file, so that no file sets a global that the next file of the same worker inherits.
import {WebSocket} from 'ws';

(globalThis as {WebSocket?: unknown}).WebSocket ??= WebSocket;
