// permessage-deflate load for bench/deflate_bench.py, with Node `ws` as the
// client (it offers "permessage-deflate; client_max_window_bits" and
// compresses messages from 1 KiB, as browsers do).
//
//   node deflate_client.js drive URL CORPUS CONNECTIONS ROUNDS
//     Each connection sends every message of CORPUS (a JSON array of
//     strings) ROUNDS times, one in flight, and checks each echo. Prints
//     one JSON line: messages, payload bytes each way, the bytes the
//     sockets read and wrote (wire bytes, headers included) and the
//     extensions the server answered.
//   node deflate_client.js idle URL CORPUS CONNECTIONS
//     Opens CONNECTIONS connections; each sends CORPUS[0] and waits for its
//     echo, so that one compressed message went each way. Prints "ready"
//     with the answered extensions, then holds them until SIGTERM.
'use strict';
const fs = require('fs');
const WebSocket = require('ws');

const [mode, url, corpusPath, connectionsArg, roundsArg] = process.argv.slice(2);
const corpus = JSON.parse(fs.readFileSync(corpusPath, 'utf8'));
const connections = parseInt(connectionsArg, 10);
const rounds = parseInt(roundsArg || '1', 10);
const totals = { messages: 0, payload_out: 0, payload_in: 0, wire_read: 0, wire_written: 0 };
let extensions = null;

function fail(why) {
  console.log(JSON.stringify({ ok: false, error: why }));
  process.exit(1);
}
setTimeout(() => fail('timed out'), mode === 'drive' ? 600000 : 3600000).unref();

function open(onOpen) {
  const ws = new WebSocket(url, { perMessageDeflate: true, maxPayload: 0 });
  ws.on('error', (e) => fail(e.message));
  ws.on('open', () => {
    extensions = ws.extensions;
    onOpen(ws);
  });
  return ws;
}

function drive(ws, done) {
  let i = 0;
  const total = corpus.length * rounds;
  const next = () => {
    const message = corpus[i % corpus.length];
    totals.payload_out += Buffer.byteLength(message);
    ws.send(message);
  };
  ws.on('message', (data) => {
    if (data.toString() !== corpus[i % corpus.length]) fail(`echo ${i} differs`);
    totals.payload_in += data.length;
    totals.messages += 1;
    if (++i < total) return next();
    totals.wire_read += ws._socket.bytesRead;
    totals.wire_written += ws._socket.bytesWritten;
    ws.close(1000);
    done();
  });
  next();
}

if (mode === 'drive') {
  let left = connections;
  const started = process.hrtime.bigint();
  for (let c = 0; c < connections; c++) {
    open((ws) => drive(ws, () => {
      if (--left > 0) return;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      console.log(JSON.stringify({ ok: true, extensions, seconds, ...totals }));
      setTimeout(() => process.exit(0), 100);
    }));
  }
} else if (mode === 'idle') {
  let left = connections;
  let opening = 0;
  let next = 0;
  const held = [];
  // At most 200 handshakes at a time, so the listen queue never overflows.
  const more = () => {
    while (opening < 200 && next < connections) {
      opening++;
      next++;
      held.push(open((ws) => {
        ws.once('message', (data) => {
          if (data.toString() !== corpus[0]) fail('idle echo differs');
          opening--;
          if (--left === 0) console.log(`ready ${extensions}`);
          more();
        });
        ws.send(corpus[0]);
      }));
    }
  };
  more();
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
} else {
  fail(`unknown mode ${mode}`);
}
