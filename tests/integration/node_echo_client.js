// Echo check with Node's `ws` (an independent client): connects to the URL
// in argv[2], sends argv[3] text and argv[3] binary messages of varied
// sizes, verifies every echo in order, closes with 1000 and exits 0.
// Prints one JSON line with what it saw; exits 1 on any mismatch.
// For wss:// URLs, WSGATE_CA names a PEM file of the only CA to trust (the
// host name is still checked against the URL's host).
'use strict';
const fs = require('fs');
const WebSocket = require('ws');

const url = process.argv[2];
const count = parseInt(process.argv[3] || '50', 10);
const protocols = process.argv[4] ? process.argv[4].split(',') : undefined;
const expected = [];
for (let i = 0; i < count; i++) {
  expected.push(`text ${i} ` + 'é'.repeat(i % 40));
  expected.push(Buffer.alloc((i * 977) % 70000, i % 256));
}

const options = {};
if (process.env.WSGATE_CA) options.ca = fs.readFileSync(process.env.WSGATE_CA);
const ws = new WebSocket(url, protocols, options);
const timer = setTimeout(() => fail('timed out'), 20000);
let received = 0;

function fail(why) {
  console.log(JSON.stringify({ ok: false, error: why, received }));
  process.exit(1);
}

ws.on('open', () => {
  for (const m of expected) ws.send(m);
});
ws.on('message', (data, isBinary) => {
  const want = expected[received];
  const same = typeof want === 'string'
    ? !isBinary && data.toString('utf8') === want
    : isBinary && Buffer.compare(data, want) === 0;
  if (!same) fail(`message ${received} differs`);
  received++;
  if (received === expected.length) ws.close(1000, 'done');
});
ws.on('close', (code) => {
  clearTimeout(timer);
  const ok = received === expected.length && code === 1000;
  console.log(JSON.stringify({ ok, received, code, protocol: ws.protocol }));
  process.exit(ok ? 0 : 1);
});
ws.on('error', (e) => fail(String(e)));
