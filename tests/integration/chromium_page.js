// Static page check in headless Chromium (Debian `chromium`, driven by
// puppeteer-core): loads the page at argv[2], which a static route serves
// and which opens a WebSocket to its own path, sends "ping" and puts the
// echo in its title. Prints one JSON line with the page's HTTP status, its
// Content-Type and the title once it starts with "echo:" (or the last one
// seen on a timeout); exits 1 on a failure. The browser's profile goes in
// $CHROMIUM_PROFILE when set, so that a test can find (and kill) the
// browser by that path whatever happened to this script.
'use strict';
const launchChromium = require('./chromium_launch');

(async () => {
  const browser = await launchChromium();
  let ok = false;
  try {
    const page = await browser.newPage();
    const response = await page.goto(process.argv[2], { waitUntil: 'load', timeout: 20000 });
    let title = '';
    try {
      await page.waitForFunction(() => document.title.startsWith('echo:') || document.title === 'error',
                                 { timeout: 20000 });
    } finally {
      title = await page.title();
    }
    ok = title === 'echo:ping';
    console.log(JSON.stringify({ ok, status: response.status(),
                                 contentType: response.headers()['content-type'], title }));
  } finally {
    await browser.close();
  }
  process.exit(ok ? 0 : 1);
})().catch((error) => {
  console.log(JSON.stringify({ ok: false, error: String(error) }));
  process.exit(1);
});
