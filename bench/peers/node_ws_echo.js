// Node `ws` echo server for scripts/bench: echoes every message back with the
// same opcode. No payload limit below 64 MiB, binds 127.0.0.1 only. Prints
// "listening HOST:PORT" once it accepts connections. permessage-deflate is
// off unless DEFLATE is "takeover" (ws's defaults: context takeover both
// ways, messages from 1 KiB) or "no-takeover" (no context takeover either
// way), for bench/deflate_bench.py.
// usage: node node_ws_echo.js PORT [HOST [DEFLATE]]
'use strict';
const { WebSocketServer } = require('ws');

const port = parseInt(process.argv[2] || '0', 10);
const host = process.argv[3] || '127.0.0.1';
const deflate = {
  undefined: false,
  takeover: true,
  'no-takeover': { serverNoContextTakeover: true, clientNoContextTakeover: true },
}[process.argv[4]];
if (deflate === undefined) throw new Error(`unknown DEFLATE ${process.argv[4]}`);
const wss = new WebSocketServer({
  host,
  port,
  backlog: 4096,
  perMessageDeflate: deflate,
  maxPayload: 64 * 1024 * 1024,
  clientTracking: false,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => {
  const a = wss.address();
  console.log(`listening ${a.address}:${a.port}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
