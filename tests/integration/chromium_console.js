// The live console in headless Chromium (Debian `chromium`, driven by
// puppeteer-core): opens the console page at argv[2], waits until the page
// has shown the same numbers in two snapshots in a row (nothing else is
// connecting; messages_out aside, which the snapshots themselves move), prints them as one JSON line, and saves a screenshot to
// argv[3]. Exits 1 when the page shows nothing within 30 s. The browser's
// profile goes in $CHROMIUM_PROFILE (see chromium_echo.js).
'use strict';
const launchChromium = require('./chromium_launch');

const [url, screenshot] = process.argv.slice(2);
const ids = ['connections_active', 'connections_accepted', 'handshakes_ok', 'messages_in',
             'messages_out', 'connections_shed'];
// messages_out grows by the console's own snapshots, so it never settles.
const settling = ids.filter((id) => id !== 'messages_out');

(async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 900 });
    await page.goto(url, { waitUntil: 'load', timeout: 20000 });
    const read = () => page.evaluate((names) => {
      const values = {};
      for (const id of names) values[id] = document.getElementById(id).textContent;
      values.link = document.getElementById('link').className;
      values.workers = [...document.querySelectorAll('#workers tr')].map(
        (row) => [...row.cells].map((c) => c.textContent));
      values.events = [...document.querySelectorAll('#events tr')].map(
        (row) => [...row.cells].map((c) => c.textContent));
      return values;
    }, ids);
    const deadline = Date.now() + 30000;
    let last = null;
    for (;;) {
      const now = await read();
      const settled = now.link === 'up' && now.connections_accepted !== '–' &&
        last !== null && settling.every((id) => now[id] === last[id]);
      if (settled) {
        await page.screenshot({ path: screenshot, fullPage: true });
        console.log(JSON.stringify({ ok: true, ...now }));
        break;
      }
      if (Date.now() > deadline) {
        console.log(JSON.stringify({ ok: false, error: 'the page never settled', ...now }));
        process.exitCode = 1;
        break;
      }
      last = now;
      // Snapshots come every second.
      await new Promise((resolve) => setTimeout(resolve, 1200));
    }
  } finally {
    await browser.close();
  }
})().catch((error) => {
  console.log(JSON.stringify({ ok: false, error: String(error) }));
  process.exit(1);
});
