// An OpenSRF session with Node's `ws` (an independent client, which offers
// permessage-deflate as browsers do) against a translator route: on open
// it sends a CONNECT; on its 200 (opensrf.js's onconnect) it sends at once
// two REQUESTs of the session and a stateless request on another thread,
// then waits for the three 205s, sends the DISCONNECT and closes with 1000. argv: URL SERVICE. Prints one JSON line
// with the replies' threads, statuses and results; exits 1 on a timeout or
// a reply that is not {"thread","log_xid","osrf_msg"}.
'use strict';
const WebSocket = require('ws');

const url = process.argv[2];
const service = process.argv[3];

function message(type, trace, payload) {
  const p = { threadTrace: trace, locale: 'en-US', tz: 'Etc/UTC', type };
  if (payload) p.payload = payload;
  return { __c: 'osrfMessage', __p: p };
}
function request(method, params, trace) {
  return message('REQUEST', trace, { __c: 'osrfMethod', __p: { method, params } });
}
function envelope(thread, ...osrfMsg) {
  return JSON.stringify({ service, thread, osrf_msg: osrfMsg });
}

const seen = [];
const timer = setTimeout(() => done(false, 'timed out'), 20000);
function done(ok, error) {
  clearTimeout(timer);
  console.log(JSON.stringify({ ok, error, seen }));
  process.exit(ok ? 0 : 1);
}

const ws = new WebSocket(url);
ws.on('open', () => {
  ws.send(envelope('node-session', message('CONNECT', '0')));
});
function connected() {
  ws.send(envelope('node-session', request('wsgate.whoami', [], '1')));
  ws.send(envelope('node-session', request('wsgate.add', [20, 22], '2')));
  ws.send(envelope('node-other', request('opensrf.system.echo', ['h\u00e9'], '1')));
}
ws.on('message', (data, isBinary) => {
  if (isBinary) return done(false, 'binary reply');
  const reply = JSON.parse(data.toString('utf8'));
  if (Object.keys(reply).join(',') !== 'thread,log_xid,osrf_msg') {
    return done(false, 'reply keys ' + Object.keys(reply).join(','));
  }
  for (const m of reply.osrf_msg) {
    const p = m.__p;
    if (p.type === 'STATUS') {
      const code = String(p.payload.__p.statusCode);
      seen.push([reply.thread, p.threadTrace, code]);
      if (code === '200') connected();
    }
    if (p.type === 'RESULT') seen.push([reply.thread, p.threadTrace, p.payload.__p.content]);
  }
  const finals = seen.filter((s) => s[2] === '205').length;
  if (finals === 3) {
    ws.send(envelope('node-session', message('DISCONNECT', '3')));
    ws.close(1000);
  }
});
ws.on('close', (code) => (code === 1000 ? done(true) : done(false, 'closed ' + code)));
ws.on('error', (e) => done(false, String(e)));
