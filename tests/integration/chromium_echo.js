// Echo check in headless Chromium (Debian `chromium`, driven by
// puppeteer-core): the browser's own WebSocket, which offers
// permessage-deflate by default, opens each URL in argv[2..], sends text and
// binary messages of varied sizes, checks every echo in order and closes
// with 1000. Prints one JSON line per URL with the extensions the server
// answered (WebSocket.extensions) and the echoes that matched; exits 1 on a
// failure. The browser's profile goes in $CHROMIUM_PROFILE when set, so
// that a test can find (and kill) the browser by that path whatever
// happened to this script.
'use strict';
const launchChromium = require('./chromium_launch');

const urls = process.argv.slice(2);

// Runs in the page: the messages are made there, so that the bytes the
// browser compresses are the browser's own.
async function echoInPage(url) {
  const texts = [];
  for (let i = 0; i < 12; i++) {
    const reply = { status: 'OK', statusCode: 200, payload: [] };
    for (let j = 0; j < 40 * i; j++) reply.payload.push({ __c: 'aou', __p: [j, 'Branch ' + j] });
    texts.push(JSON.stringify(reply) + ' é€');
  }
  const binaries = [100, 5000, 70000].map((n) => {
    const bytes = new Uint8Array(n);
    for (let i = 0; i < n; i++) bytes[i] = (i * 7) % 251;
    return bytes;
  });
  const sent = [...texts, ...binaries];
  return await new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const got = [];
    const timer = setTimeout(() => resolve({ ok: false, error: 'timed out', matched: got.length }), 20000);
    ws.onopen = () => sent.forEach((m) => ws.send(m));
    ws.onmessage = (event) => {
      const want = sent[got.length];
      let same;
      if (typeof want === 'string') {
        same = event.data === want;
      } else {
        const bytes = new Uint8Array(event.data);
        same = bytes.length === want.length && bytes.every((b, i) => b === want[i]);
      }
      got.push(same);
      if (!same) {
        clearTimeout(timer);
        resolve({ ok: false, error: 'echo ' + (got.length - 1) + ' differs', matched: got.length - 1 });
        ws.close(1000);
      } else if (got.length === sent.length) {
        ws.close(1000);
      }
    };
    ws.onclose = (event) => {
      clearTimeout(timer);
      resolve({ ok: got.length === sent.length && got.every(Boolean), extensions: ws.extensions,
                matched: got.filter(Boolean).length, messages: sent.length, code: event.code });
    };
    ws.onerror = () => {};
  });
}

(async () => {
  const browser = await launchChromium();
  let failed = false;
  try {
    const page = await browser.newPage();
    for (const url of urls) {
      const result = await page.evaluate(echoInPage, url);
      console.log(JSON.stringify({ url, ...result }));
      if (!result.ok) failed = true;
    }
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
})().catch((error) => {
  console.log(JSON.stringify({ ok: false, error: String(error) }));
  process.exit(1);
});
